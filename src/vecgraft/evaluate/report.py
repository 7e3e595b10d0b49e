"""Render a comparison (the content of `compare.json`) as Markdown and a self-contained HTML page.

Both renderings come from one list of blocks (headings, paragraphs, tables, the plot, code),
so the Markdown table and the HTML table always show the same formatted numbers. The HTML page
has inline CSS and the plot as a base64 PNG: it can be mailed or archived as one file.

    >>> from vecgraft.evaluate.compare import load_compare
    >>> write_reports(load_compare("runs/compare"), "runs/compare")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_text
from vecgraft._util.console import printable
from vecgraft.errors import MissingExtraError
from vecgraft.evaluate._compare_scores import CLASSIFICATION, Score, ScoreView, score_view
from vecgraft.evaluate._compare_sources import (
    ANALOGY_NAMES,
    CHINESE_TEXTS,
    EARLIER_TAKEN_FROM,
    INTRINSIC_KEPT,
    SET_NAMES,
    USER_DICT_JIEBA,
    intrinsic_text,
    is_analogy,
    low_intrinsic_note,
    score_label,
    subword_coverage_note,
    tokenizer_label,
)
from vecgraft.evaluate._paired_noise import PairedNoise
from vecgraft.finetune.metrics import and_list

__all__ = [
    "PLOT_FILE",
    "format_pm",
    "plot_accuracy",
    "render_html",
    "render_markdown",
    "write_reports",
]

PLOT_FILE = "accuracy_vs_fraction.png"
_NUMERIC = re.compile(r"^[-+–0-9.,%± ×]+$")
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.7em;border-bottom:2px solid #3b6ea8;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;color:#244a75}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #c8d0da;padding:.3em .65em;text-align:right}
th{background:#e8eef5}td.t,th.t{text-align:left}\ntd.p{overflow-wrap:anywhere;max-width:26em}
tr:nth-child(even) td{background:#f7f9fb}
img{max-width:100%;border:1px solid #ddd}
pre{background:#f4f4f4;padding:.8em;overflow-x:auto;font-size:.85em}
.note{color:#555;font-size:.9em}
"""


@dataclass
class _Block:
    kind: str  # h1 | h2 | p | table | image | code
    text: str = ""
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()


def format_pm(mean: float, std: float | None, n: int) -> str:
    """`mean ± std` in percent with two decimals (just the mean for one seed)."""
    if n < 2 or std is None:  # one seed: compare.json's sd is null (0.0 before)
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.1f}%"


NOT_COMPUTED = "not computed (--no-intrinsic)"


def _intrinsic_cell(source: dict[str, Any], name: str, skipped: bool = False) -> str:
    """A source's score on set `name`; `skipped`: this comparison ran with --no-intrinsic.

    A vector source left unscored by --no-intrinsic showed "–", which the legend defines
    as not applicable.
    """
    scores = source.get("intrinsic")
    if not scores:
        vectors = source.get("vectors") not in (None, "random")
        return NOT_COMPUTED if skipped and vectors else "–"
    entry = scores.get(name) or {}
    if "skipped" in scores:
        return "–"
    if "error" in entry:
        return "n/a"
    if entry.get("spearman") is None and not is_analogy(entry):
        return "–"
    return intrinsic_text(entry)  # with the pairs it was computed on: 0.877 (24/353, low)


def _intrinsic_columns(sources: Sequence[dict[str, Any]]) -> list[str]:
    """The intrinsic sets the sources table has a column for.

    WordSim353 and SimLex-999 as always, unless every scored source is Chinese; the CA8
    sets when a Chinese source was scored on them.
    """
    used = {name for s in sources for name in s.get("intrinsic") or {}}
    chinese = [name for name in ANALOGY_NAMES if name in used]
    english = [] if chinese and not used & SET_NAMES.keys() else list(SET_NAMES)
    return english + chinese


def _earlier_note(settings: dict[str, Any]) -> str:
    kept = settings.get("earlier_cells") or 0
    return f", plus {kept} runs kept from an earlier grid in this folder" if kept else ""


def _view(data: dict[str, Any]) -> ScoreView:
    """The scores this comparison ranks by (its fine-tuning task's)."""
    return score_view(data["settings"]["finetune"].get("task"))


def _verdict_view(data: dict[str, Any]) -> ScoreView:
    """The scores the verdicts judge by: macro F1 first where the runs' metric is macro_f1.

    Why: on 95/5 labels glove (90.25% accuracy, macro F1 0.521) was called no better than
    always saying the majority label (95%, macro F1 0.487), by the score the user set aside.
    """
    view = _view(data)
    if view is CLASSIFICATION and data["settings"]["finetune"].get("metric") == "macro_f1":
        return ScoreView(view.second, view.first, view.baseline)
    return view


def _judged_words(first: Score) -> str:
    """Which score a macro F1 verdict is by ("" for the ranking score, as verdicts were)."""
    return f" (judged by {first.name}, the runs' metric)" if first.key == "macro_f1" else ""


def _reaches(score: Score, value: float) -> str:
    """A score's value in a sentence: "81.25% accuracy", "Pearson r 0.6700"."""
    return f"{100 * value:.2f}% {score.name}" if score.percent else f"{score.name} {value:.4f}"


PRETRAINED_KINDS = ("vectors", "transformer", "finetune")  # sources that bring pretraining


def baseline_verdicts(data: dict[str, Any]) -> list[str]:
    """One sentence per training fraction saying whether a pretrained source beat linear.

    Without a pretrained source the best other one (random initialisation) is judged; without
    a linear row (`--no-linear`) the report says that nothing was measured against it. Last,
    where the vector sources named different tokenizers, which one the other rows took, and
    which rows read Chinese (Japanese, Thai) as whole clauses.

    A gap between two rows is judged against two standard errors of it: from the paired
    bootstrap over the test texts where both rows' cells kept their test predictions
    (`PairedNoise`; accuracy and macro F1 alike), a gap within them "not distinguishable";
    else, as before predictions were kept, the binomial error of two accuracies as if
    independent, and none for macro F1 or Pearson r.
    """
    return _verdicts(data, PairedNoise(data))


def _verdicts(data: dict[str, Any], noise: PairedNoise) -> list[str]:
    """`baseline_verdicts`, with the gaps' paired standard errors from `noise`."""
    unsegmented = data.get("settings", {}).get("unsegmented_warning")
    said = [f"Warning: {unsegmented}."] if unsegmented else []
    return (_comparison_verdicts(data, noise) + _majority_verdicts(data, noise)
            + _tokenizer_warning(data) + said)  # fmt: skip


@dataclass
class _Majority:
    """The majority-class baseline of one training fraction, from its cells' metrics.json.

    `accuracy`: the mean over the fraction's cells of their "majority_baseline" accuracy,
    the test split's accuracy of always predicting the label most frequent in the cell's
    training split; `low`/`high` its range (the subsample of a fraction under 1 may change
    the label); `tests`: the number of test texts (None where the cells differ).
    """

    accuracy: float
    low: float
    high: float
    labels: list[str]
    tests: int | None
    tied: list[str] = field(default_factory=list)  # labels tied with `labels` in training

    @property
    def two_se(self) -> float | None:
        """Two binomial standard errors of the floor (`high`) on the test texts."""
        if not self.tests:
            return None
        return 2 * math.sqrt(self.high * (1 - self.high) / self.tests)

    @property
    def label_words(self) -> str:
        """The label always predicted ("'pos'"; "'neg' or 'pos'" where the subsamples differ).

        A label tied with others for the most training rows says so, and the rule: 1,000
        rows each of 'neg' and 'pos' read "the most frequent training label ('neg')".
        """
        from vecgraft.finetune.metrics import tied_words

        return tied_words(self._labels, [repr(x) for x in self.tied])

    @property
    def _labels(self) -> str:
        return " or ".join(repr(x) for x in self.labels)

    @property
    def name(self) -> str:
        """The table row's words: "majority class (always 'pos')"."""
        return f"majority class (always {self._labels})"


def _majority(
    data: dict[str, Any], fraction: float, key: str = "accuracy"
) -> _Majority | None:
    """The majority-class baseline of `fraction`'s cells; None where none kept one.

    A regression has none (its metrics.json keeps a mean baseline, scored in RMSE, which the
    Pearson r the rows are ranked by has no counterpart of); nor has a compare.json written
    before the cells' baselines were copied into it. `key` "macro_f1" takes the baseline's
    macro F1 (kept by runs whose metric is macro_f1; None where a cell lacks it).
    """
    cells = [c for c in data.get("cells", []) if c.get("fraction") == fraction]
    kept = [(c, m) for c in cells if isinstance(m := c.get("majority_baseline"), dict)]
    if not kept or any(key not in m for _c, m in kept):
        return None
    values = [float(m[key]) for _c, m in kept]
    labels = {str(m["label"]) for _c, m in kept}
    tests = {(c.get("sizes") or {}).get("test") for c, _m in kept}
    return _Majority(
        accuracy=sum(values) / len(values),
        low=min(values),
        high=max(values),
        labels=sorted(labels),
        tests=tests.pop() if len(tests) == 1 else None,
        tied=sorted({str(x) for _c, m in kept for x in m.get("tied") or []} - labels),
    )


def _majorities(data: dict[str, Any]) -> list[tuple[float, _Majority | None]]:
    """Each training fraction with its majority-class baseline (None where no cell kept one).

    Empty unless the rows are ranked by accuracy: a regression has no majority class. One
    walk for the verdicts, the table's rows and the legend's note on missing ones.
    """
    if _view(data).first.key != "accuracy":
        return []
    fractions = sorted({s["fraction"] for s in data["summary"]})
    return [(fraction, _majority(data, fraction)) for fraction in fractions]


def _majority_verdicts(data: dict[str, Any], noise: PairedNoise | None = None) -> list[str]:
    """Per fraction: the majority-class accuracy, and which rows are not clearly above it.

    Unsaid, random initialisation at 48.33 % where the majority class scores 48.00 % on 300
    texts made "glove beats random by 20 points" read as if random were a trained row. A row
    at or below the floor is no better than always predicting the majority class; one at
    most two standard errors above it is not distinguishably better (it may still have
    learnt a little). The floor is the best of the runs' majority accuracies, not their
    mean: where the seeds' subsamples differ in their majority label (48 % and 52 %), always
    predicting the better label scores 52 %. Where the runs' metric is macro_f1 the rows and
    the floor are judged by macro F1 (`_verdict_view`); by accuracy where a cell kept no
    majority macro F1 (a run of an earlier release). The two standard errors are each
    row's own from its runs' test predictions (`PairedNoise`: one test text moved off the
    majority label lifted macro F1 1.20 points and read as a win); a row without them has
    the binomial margin of the floor by accuracy, and none by macro F1.
    """
    noise = PairedNoise(data) if noise is None else noise
    lines = []
    for fraction, majority in _majorities(data):
        if majority is None:
            continue
        first = _view(data).first
        by_f1 = _majority(data, fraction, "macro_f1")
        if _verdict_view(data).first.key == "macro_f1" and by_f1 is not None:
            first, majority = _verdict_view(data).first, by_f1
        rows = [s for s in data["summary"] if s["fraction"] == fraction]
        lines.append(_majority_line(fraction, first, majority, rows, noise))
    return lines


def _majority_line(
    fraction: float, first: Score, majority: _Majority, rows: list[dict[str, Any]],
    noise: PairedNoise,
) -> str:  # fmt: skip
    """`_majority_verdicts`' sentence on one fraction's `rows`."""
    mean = f"{first.key}_mean"
    margin = (majority.two_se or 0.0) if first.key == "accuracy" else 0.0
    paired = {s["source"]: two_se for s in rows
              if (two_se := noise.majority_two_se(fraction, s["source"], first.key))
              is not None}  # fmt: skip
    floor = [s for s in rows if s[mean] - majority.high <= paired.get(s["source"], margin)]
    on = f" on the {majority.tests} test texts" if majority.tests else ""
    spread = "" if majority.low == majority.high else (
        f" at best ({first.show(majority.low)}–{first.show(majority.high)}% over the runs; "
        "the best is the floor)"
    )  # fmt: skip
    start = (
        f"Fraction {fraction:g}{_judged_words(first)}: always predicting the most "
        f"frequent training label ({majority.label_words}) scores "
        f"{_reaches(first, majority.high)}{on}{spread}"
    )
    gap = f"two standard errors ({first.gap(margin, signed=False)})" if margin else ""
    if not floor:
        return f"{start}; every row is {_clear_words(gap, bool(paired), len(paired) == len(rows))}."
    below = [s for s in floor if s[mean] <= majority.high]
    near = [s for s in floor if s[mean] > majority.high and s["source"] in paired]
    above = [s for s in floor if s[mean] > majority.high and s["source"] not in paired]
    said = [_floor_rows(below, first, "not above it, so no better", mean)] if below else []
    if near:
        named = and_list([f"{s['source']} ({first.show(s[mean])}%; "
                          f"{_se_words(first, s[mean] - majority.high, paired[s['source']])})"
                          for s in near])  # fmt: skip
        said.append(f"{named} {'is' if len(near) == 1 else 'are'} not distinguishable from it, "
                    "so not distinguishably better")  # fmt: skip
    if above:
        said.append(_floor_rows(above, first, f"at most {gap} above it, so not "
                                "distinguishably better", mean))  # fmt: skip
    return f"{start}; {', and '.join(said)} than always predicting the majority class."


def _clear_words(gap: str, paired: bool, every: bool) -> str:
    """How far every row of a fraction is above the majority class: "more than ... above it".

    `gap`: the binomial margin's words ("" for none); `paired`: some rows were judged by
    their own paired 2 SE, `every`: all of them were.
    """
    if every:
        return "above it by more than 2 SE of its gap"
    if paired and gap:
        return (f"above it by more than two standard errors (2 SE of its gap where its runs "
                f"kept test predictions, else {gap[len('two standard errors ('):-1]})")
    if paired:
        return "above it (by more than 2 SE of its gap where its runs kept test predictions)"
    return f"more than {gap} above it" if gap else "above it"


def _se_words(first: Score, diff: float, two_se: float) -> str:
    """A gap and its paired 2 SE in a verdict's words: "gap +1.20 points, 2 SE 2.31 points"."""
    return f"gap {first.gap(diff)}, 2 SE {first.gap(two_se, signed=False)}"


def _floor_rows(
    rows: list[dict[str, Any]], first: Score, what: str, mean: str = "accuracy_mean"
) -> str:
    """Rows named with their `mean` score: "random (46.00%) and glove (45.50%) are <what>".

    Rows below (or at) the floor and rows above it within two standard errors are said
    apart: "at most two standard errors above it" of a row below it was untrue.
    """
    named = and_list([f"{s['source']} ({first.show(s[mean])}%)" for s in rows])
    return f"{named} {'is' if len(rows) == 1 else 'are'} {what}"


def _tokenizer_warning(data: dict[str, Any]) -> list[str]:
    """Which tokenizer the rows without vectors of their own took, when the sources disagree.

    Said on the console only, a linear row that cut Chinese into whole clauses (regex) made
    "X beats linear by 5.5 points" in report.md read as a win over a fair baseline.
    """
    settings = data.get("settings", {})
    rows = [f"{s['name']} {tokenizer_label(s['tokenizer'], s.get('zh_mode'))}"
            for s in data["sources"] if s.get("tokenizer")]  # fmt: skip
    used = f" (tokenizer of each row: {', '.join(rows)})" if rows else ""
    for key, start in (("tokenizer_warning", "Warning"), ("tokenizer_note", "Note")):
        if settings.get(key):
            return [f"{start}: {settings[key]}{used}."]
    return []


def _comparison_verdicts(data: dict[str, Any], noise: PairedNoise) -> list[str]:
    """`baseline_verdicts` less the tokenizer warning and the majority-class sentences.

    Per fraction, the linear verdict, followed by the best pretrained source against random
    initialisation where both were compared (also without a linear row).
    """
    kinds = {s["name"]: s.get("kind") for s in data["sources"]}
    first = _verdict_view(data).first
    fractions = sorted({s["fraction"] for s in data["summary"]})
    has_linear = any(kinds.get(s["source"]) == "linear" for s in data["summary"])
    lines = [] if has_linear or not fractions else [
        f"No linear baseline ({_view(data).baseline}) in this comparison (--no-linear), "
        "so nothing here says whether these sources beat it."
    ]  # fmt: skip
    for fraction in fractions:
        line = _linear_verdict(data, fraction, kinds, noise)
        against = _random_verdict(data, fraction, kinds, noise)
        if line:
            lines.append(line + (f" {against[0].upper()}{against[1:]}" if against else ""))
        elif against:
            lines.append(f"Fraction {fraction:g}{_judged_words(first)}: {against}")
    return lines


def _linear_verdict(
    data: dict[str, Any], fraction: float, kinds: dict[str, Any], noise: PairedNoise
) -> str:
    """Whether the best pretrained (else other) row of `fraction` beat linear ("" if no pair).

    Where both rows kept their test predictions, a gap within its paired 2 SE is "not
    distinguishable" and one beyond it says its 2 SE; else the binomial note (`_noise_note`).
    """
    first = _verdict_view(data).first
    mean = f"{first.key}_mean"
    rows = [s for s in data["summary"] if s["fraction"] == fraction]
    linear = [s for s in rows if kinds.get(s["source"]) == "linear"]
    pretrained = [s for s in rows if kinds.get(s["source"]) in PRETRAINED_KINDS]
    others = [s for s in rows if kinds.get(s["source"]) != "linear"]
    if not linear or not others:
        return ""
    bar = linear[0]
    top, named = _best_rows(pretrained or others, _verdict_view(data))
    best = top[0]
    diff = best[mean] - bar[mean]
    two_se = noise.two_se(fraction, best["source"], bar["source"], first.key)
    verdict = _beat_words(first, diff, two_se, len(top) == 1, _tied(best[mean], bar[mean]))
    start = (
        f"Fraction {fraction:g}{_judged_words(first)}: the linear baseline "
        f"({_view(data).baseline}) reaches "
        f"{_reaches(first, bar[mean])}; "
    )
    if not pretrained:
        noise_note = "" if two_se is not None else _noise_note(data, first, bar, best, fraction)
        return (f"{start}no pretrained source was compared; the best other {named}, "
                f"{verdict}." + noise_note)  # fmt: skip
    chance = _best_random(rows, kinds, first)
    clear = _Clear(noise, fraction, first)
    ahead = chance if chance is not None and clear.above(chance, bar) else None
    # with random named last, "the gap" would read as random's
    whose = f"{best['source']}'s gap to the baseline" if ahead else "The gap"
    noise_note = "" if two_se is not None else _noise_note(data, first, bar, best, fraction,
                                                          whose)  # fmt: skip
    return (f"{start}the best pretrained {named}, {verdict}"
            f"{_linear_tail(pretrained, bar, ahead, first, clear)}{noise_note}")  # fmt: skip


def _beat_words(first: Score, diff: float, two_se: float | None, one: bool, tied: bool) -> str:
    """How the best row stands to linear: "beats it by 2.50 points", "ties with it", ...

    With a paired 2 SE (`two_se`): "is not distinguishable from it (gap +1.20 points, 2 SE
    2.31 points)" within it; beyond it "beats it by 44.00 points, more than 2 SE (6.98
    points)", "does not beat it (-4.75 points; 2 SE 1.02 points)".
    """
    if tied:
        return f"{'ties' if one else 'tie'} with it"
    if two_se is not None and abs(diff) <= two_se:
        return (f"{'is' if one else 'are'} not distinguishable from it "
                f"({_se_words(first, diff, two_se)})")  # fmt: skip
    two = "" if two_se is None else first.gap(two_se, signed=False)
    if diff > 0:
        return (f"{'beats' if one else 'beat'} it by {first.gap(diff, signed=False)}"
                + (f", more than 2 SE ({two})" if two else ""))  # fmt: skip
    two = f"; 2 SE {two}" if two else ""
    return f"{'does' if one else 'do'} not beat it ({first.gap(diff)}{two})"


@dataclass
class _Clear:
    """Whether one row of a fraction is clearly above another (`_linear_tail`'s rule).

    By more than the pair's paired 2 SE where both kept test predictions, else by more
    than float rounding (`_above`), as before predictions were kept. `paired`: by row,
    whether its last verdict used a paired 2 SE, so that its words say which rule judged
    it (one row's 2 SE said nothing of another's).
    """

    noise: PairedNoise
    fraction: float
    first: Score
    paired: dict[str, bool] = field(default_factory=dict)

    def above(self, row: dict[str, Any], bar: dict[str, Any]) -> bool:
        mean = f"{self.first.key}_mean"
        two_se = self.noise.two_se(self.fraction, row["source"], bar["source"], self.first.key)
        self.paired[row["source"]] = two_se is not None
        if two_se is None:
            return _above(row[mean], bar[mean])
        return row[mean] - bar[mean] > two_se and _above(row[mean], bar[mean])

    def split(self, sources: Sequence[str]) -> tuple[list[str], list[str]]:
        """`sources` judged by a paired 2 SE, and those judged by their means alone."""
        return ([s for s in sources if self.paired.get(s)],
                [s for s in sources if not self.paired.get(s)])  # fmt: skip


def _linear_tail(
    pretrained: Sequence[dict[str, Any]],
    bar: dict[str, Any],
    ahead: dict[str, Any] | None,
    first: Score,
    clear: _Clear,
) -> str:
    """Which pretrained sources beat linear, and random initialisation where it did too.

    Why: "no pretrained source beat the baseline" of a comparison whose random row did left
    out that the task needs no pretraining to beat linear. Where a row's gap to linear has
    a paired 2 SE, it beat linear only beyond it, and the words say so, row by row.
    """
    mean = f"{first.key}_mean"
    winners = [s["source"] for s in pretrained if clear.above(s, bar)]
    if winners:
        also = f"; random initialisation too, at {_shown(first, ahead[mean])}" if ahead else ""
        return f" (sources above the baseline{_winner_words(*clear.split(winners))}{also})."
    losers = _loser_words(*clear.split([s["source"] for s in pretrained]))
    if ahead:
        return (f"; no pretrained source beat the baseline{losers}, but random initialisation "
                f"did ({_shown(first, ahead[mean])}, by "
                f"{first.gap(ahead[mean] - bar[mean], False)}).")  # fmt: skip
    return f"; no pretrained source beat the baseline{losers}."


def _winner_words(paired: list[str], unpaired: list[str]) -> str:
    """": glove" or " by more than 2 SE: glove; above it, with no paired SE: w2v"."""
    if not paired:
        return f": {', '.join(unpaired)}"
    words = f" by more than 2 SE: {', '.join(paired)}"
    return words + (f"; above it, with no paired SE: {', '.join(unpaired)}" if unpaired else "")


def _loser_words(paired: list[str], unpaired: list[str]) -> str:
    """How no pretrained row beat linear: "", " by more than 2 SE", or both rules by row.

    Both: " (by more than 2 SE: glove; at all, with no paired SE: w2v)".
    """
    if not paired:
        return ""
    if not unpaired:
        return " by more than 2 SE"
    return (f" (by more than 2 SE: {', '.join(paired)}; at all, with no paired SE: "
            f"{', '.join(unpaired)})")  # fmt: skip


def _tied(a: float, b: float) -> bool:
    """Whether two means are equal but for float rounding: a tie in every verdict.

    Why: the mean of 200/300 and 202/300 is 0.66999..., below 201/300; compared exactly,
    the verdicts said "beats it by 0.00 points" or "does not beat it (-0.00 points)".
    """
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)


def _above(a: float, b: float) -> bool:
    """Whether mean `a` is higher than `b` by more than float rounding (`_tied`)."""
    return a > b and not _tied(a, b)


def _shown(first: Score, value: float) -> str:
    """A row's score in a verdict's brackets: "84.33%", "0.6700"."""
    return f"{first.show(value)}%" if first.percent else first.show(value)


def _best_random(
    rows: Sequence[dict[str, Any]], kinds: dict[str, Any], first: Score
) -> dict[str, Any] | None:
    """The best random-initialisation row of a fraction's `rows` (None where there is none)."""
    chance = [s for s in rows if kinds.get(s["source"]) == "random"]
    return max(chance, key=lambda s: float(s[f"{first.key}_mean"])) if chance else None


def _random_verdict(
    data: dict[str, Any], fraction: float, kinds: dict[str, Any], noise: PairedNoise
) -> str:
    """The best pretrained source of `fraction` against random initialisation ("" if no pair).

    Why: random 84.33 % against zhw2v 80.33 % and linear 81.00 % was reported only as "zhw2v
    does not beat linear"; vectors that lose to no pretraining at all are what the user asks
    compare about. The gap is judged with the linear verdict's two standard errors of a
    difference of two accuracies (none by macro F1 or Pearson r, as there): only a random
    lead beyond them says the pretraining does not help; one within them, a tie, or one with
    no noise estimate says it is not shown to help (a 0.01-point macro F1 lead said "do not
    help"). Means closer than float rounding are a tie, as in `_best_rows`. Where both rows
    kept their test predictions, the gap's paired 2 SE judges it instead (accuracy and macro
    F1 alike): within it the rows are "not distinguishable" (a macro F1 lead of one test
    text moved off the majority label read as a win), beyond it the lead stands (84 against
    40 by macro F1 is no tie).
    """
    view = _verdict_view(data)
    first = view.first
    mean = f"{first.key}_mean"
    rows = [s for s in data["summary"] if s["fraction"] == fraction]
    pretrained = [s for s in rows if kinds.get(s["source"]) in PRETRAINED_KINDS]
    chance = _best_random(rows, kinds, first)
    if chance is None or not pretrained:
        return ""
    top, named = _best_rows(pretrained, view)
    best, one = top[0], len(top) == 1
    named = _with_value(named, _shown(first, best[mean]))
    source = "" if chance["source"] == "random" else f"{chance['source']}, "
    random_words = f"random initialisation ({source}{_shown(first, chance[mean])})"
    diff = best[mean] - chance[mean]
    two_se, _n = _two_standard_errors(data, first, chance, best, fraction)
    paired = noise.two_se(fraction, best["source"], chance["source"], first.key)
    what = _Pretraining.of([kinds.get(r["source"]) for r in top])
    if _tied(best[mean], chance[mean]):
        return (f"the best pretrained {named}, {'ties' if one else 'tie'} with {random_words}"
                f"{_second_words(view, best, chance, one)}: {what.not_shown}.")  # fmt: skip
    if paired is not None:
        return _paired_random_words(first, diff, paired, what, named, random_words, one)
    if diff > 0:
        return (f"the best pretrained {named}, {'beats' if one else 'beat'} {random_words} by "
                f"{first.gap(diff, False)}{_random_gap_words(first, diff, two_se, what)}.")
    return (f"{random_words} beats the best pretrained {named}, by "
            f"{first.gap(-diff, False)}{_random_gap_words(first, diff, two_se, what)}.")


def _paired_random_words(
    first: Score, diff: float, two_se: float, what: _Pretraining, named: str,
    random_words: str, one: bool,
) -> str:  # fmt: skip
    """`_random_verdict`'s sentence where the gap `diff` has a paired 2 SE (`two_se`)."""
    if abs(diff) <= two_se:
        return (f"the best pretrained {named}, {'is' if one else 'are'} not distinguishable "
                f"from {random_words}: {_se_words(first, diff, two_se)}, so {what.not_shown}.")
    margin = f"more than 2 SE ({first.gap(two_se, False)})"
    if diff > 0:
        return (f"the best pretrained {named}, {'beats' if one else 'beat'} {random_words} by "
                f"{first.gap(diff, False)}, {margin}.")  # fmt: skip
    return (f"{random_words} beats the best pretrained {named}, by {first.gap(-diff, False)}, "
            f"{margin}: {what.not_helping}.")


@dataclass(frozen=True)
class _Pretraining:
    """What the random-initialisation verdict says helps or not: vectors, or a whole model.

    Why: "these vectors do not help" of a `finetune` source (a transformer fine-tuned
    whole) named vectors it has none of.
    """

    subject: str
    be: str
    do: str

    @classmethod
    def of(cls, kinds: Sequence[Any]) -> _Pretraining:
        """The words for the best pretrained rows' `kinds`."""
        if "finetune" in kinds:
            return cls("this pretraining", "is", "does")
        return cls("these vectors", "are", "do")

    @property
    def not_shown(self) -> str:
        return f"{self.subject} {self.be} not shown to help this task"

    @property
    def not_helping(self) -> str:
        return f"{self.subject} {self.do} not help this task"


def _second_words(
    view: ScoreView, best: dict[str, Any], chance: dict[str, Any], one: bool
) -> str:
    """After a tie with random initialisation: which row the second score puts ahead.

    Why: a tie on accuracy was reported alone where random initialisation led on macro F1,
    the score `_best_rows` breaks a pretrained tie by. "" where that score ties too, or is
    missing.
    """
    second = view.second
    ours, theirs = best.get(f"{second.key}_mean"), chance.get(f"{second.key}_mean")
    if ours is None or theirs is None:
        return ""
    if _tied(ours, theirs):
        return f" on {view.first.name} and {second.name}"
    ahead = (float(ours) > float(theirs)) == second.higher_is_better
    who = ("the pretrained source is" if one else "the pretrained sources are") if ahead \
        else "random initialisation is"
    lead, trail = (float(ours), float(theirs)) if ahead else (float(theirs), float(ours))
    return (f" on {view.first.name}; on {second.name} {who} ahead "
            f"({_shown(second, lead)} against {_shown(second, trail)})")


def _random_gap_words(
    first: Score, diff: float, two_se: float | None, what: _Pretraining
) -> str:
    """How a gap `diff` (pretrained minus random) stands against its noise, and what it means.

    A pretrained lead needs no conclusion; a random lead means the pretraining did not help
    only beyond two standard errors: within them, or with none known (macro F1, Pearson r),
    it is not shown to.
    """
    if two_se is None:
        if diff > 0:
            return ""
        return f"; no standard error of {first.name} is known here, so {what.not_shown}"
    margin = f"two standard errors ({first.gap(two_se, False)}, as if independent)"
    within = abs(diff) < two_se
    if diff > 0:
        if within:
            return f", within {margin}: another sample of test texts could reverse it"
        return f", more than {margin}"
    if within:
        return f", within {margin}: within noise, so {what.not_shown}"
    return f", more than {margin}: {what.not_helping}"


def _with_value(named: str, value: str) -> str:
    """`_best_rows`' name with the rows' score after it: "source, zhw2v (80.33%)"."""
    if named.endswith(")"):  # "source, char (tied with w2v on accuracy, ahead on macro F1)"
        return f"{named[:-1]}; {value})"
    return f"{named} ({value})"


def _best_rows(
    rows: Sequence[dict[str, Any]], view: ScoreView
) -> tuple[list[dict[str, Any]], str]:
    """The best rows by the ranking score, a tie broken by the second, and how to name them.

    The name reads after "the best pretrained": "source, w2v" alone; "source, w2v (tied
    with char on accuracy, ahead on macro F1)"; "sources, w2v and char (tied on accuracy
    and macro F1)" where both scores tie. The first listed of a tie was named alone.
    """
    first, second = view.first, view.second

    def value(row: dict[str, Any], score: Score) -> float | None:
        got = row.get(f"{score.key}_mean")
        return None if got is None else float(got) * (1 if score.higher_is_better else -1)

    def same(a: float | None, b: float | None) -> bool:  # a mean of the same test texts
        return a is None or b is None or _tied(a, b)

    top = max(float(r[f"{first.key}_mean"]) for r in rows)
    level = [r for r in rows if same(float(r[f"{first.key}_mean"]), top)]
    if len(level) == 1:
        return level, f"source, {level[0]['source']}"
    known = [v for r in level if (v := value(r, second)) is not None]
    runner = max(known) if known else None
    best = [r for r in level if same(value(r, second), runner)] if known else level
    if len(best) == 1:
        others = " and ".join(r["source"] for r in level if r is not best[0])
        return best, (f"source, {best[0]['source']} (tied with {others} on {first.name}, "
                      f"ahead on {second.name})")  # fmt: skip
    names = ", ".join(r["source"] for r in best[:-1]) + f" and {best[-1]['source']}"
    return best, f"sources, {names} (tied on {first.name} and {second.name})"


def _noise_note(
    data: dict[str, Any],
    first: Score,
    bar: dict[str, Any],
    best: dict[str, Any],
    fraction: float,
    whose: str = "The gap",
) -> str:
    """A sentence saying an accuracy gap is under two standard errors ("" if it is not).

    A tie has no gap another sample could reverse: "" too.
    """
    two_se, n = _two_standard_errors(data, first, bar, best, fraction)
    ours, theirs = best[f"{first.key}_mean"], bar[f"{first.key}_mean"]
    if two_se is None or _tied(ours, theirs) or abs(ours - theirs) >= two_se:
        return ""
    return (
        f" {whose} is under two standard errors of a difference of two accuracies on {n} "
        f"test texts ({first.gap(two_se, signed=False)}, as if independent): another sample "
        "of test texts could reverse it."
    )


def _two_standard_errors(
    data: dict[str, Any], first: Score, bar: dict[str, Any], best: dict[str, Any], fraction: float
) -> tuple[float | None, int | None]:
    """Two standard errors of the gap between two rows' accuracies, and the test texts' count.

    The standard error of the difference of two accuracies on n test texts,
    sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n): on a few hundred texts a gap of a few points
    is what another sample of the test data could give, which one seed does not show. None
    for macro F1 or Pearson r, which that binomial error does not fit, and where `bar`'s
    cells at `fraction` do not share one test size.
    """
    if not first.percent or first.key == "macro_f1":
        return None, None
    tests = {
        (c.get("sizes") or {}).get("test")
        for c in data.get("cells", [])
        if c["source"] == bar["source"] and c["fraction"] == fraction
    }
    n = tests.pop() if len(tests) == 1 else None
    if not n:
        return None, None
    p1, p2 = bar[f"{first.key}_mean"], best[f"{first.key}_mean"]
    return 2 * math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n), n


def _epochs_phrase(ft: dict[str, Any]) -> str:
    """How long each run trained (fixed epochs, or the step budget) and how many networks."""
    if ft.get("epochs") is not None:
        length = f"{ft['epochs']} epochs max"
    else:
        length = (f"epochs from a {ft.get('train_steps')}-step budget "
                  f"({ft.get('min_epochs')}-{ft.get('max_epochs')})")  # fmt: skip
    members = ft.get("ensemble")
    if members is None:  # the default: the ensemble's own rule says whether it applies
        from vecgraft.errors import ConfigError
        from vecgraft.finetune.config import FinetuneConfig
        from vecgraft.finetune.ensemble import AUTO_MEMBERS, auto_blocker

        try:
            blocked = auto_blocker(FinetuneConfig.from_dict(ft), distributed=False)
        except ConfigError:  # settings of another vecgraft version
            return length
        if blocked:
            return length
        return f"{length}; {AUTO_MEMBERS} networks averaged where the epoch cap cuts the budget"
    return f"{length}; {members} networks averaged" if members > 1 else length


def _intro_blocks(data: dict[str, Any]) -> list[_Block]:
    """Title and the one-paragraph task description, so a reader knows what was compared."""
    settings = data["settings"]
    cfg = settings["compare"]
    ft = settings["finetune"]
    seeds = cfg["seeds"]
    # this grid's sources and runs; an earlier grid's kept ones are counted after them
    sources = len(data["sources"]) - int(settings.get("earlier_sources") or 0)
    runs = len(data["cells"]) - int(settings.get("earlier_cells") or 0)
    return [
        _Block("h1", "Embedding comparison"),
        _Block(
            "p",
            f"Task: train `{cfg['train']}`, test `{cfg['test'] or 'stratified split of train'}`; "
            f"model `{ft.get('model')}`, {_epochs_phrase(ft)}; "
            f"{sources} sources × {len(cfg['fractions'])} training fractions × "
            f"{len(seeds)} seeds (seeds {', '.join(map(str, seeds))}) = {runs} runs"
            + _earlier_note(settings)
            + "."
            + _fused_note(ft),
        ),
    ]


def _fused_note(ft: dict[str, Any]) -> str:
    """Said when `--set fuse_linear=true` made every network row a fused model."""
    if not ft.get("fuse_linear"):
        return ""
    return (
        " Each network row is fused with the TF-IDF linear model (`fuse_linear=true`): the "
        "rows score the fused models, not what each source gives the network alone."
    )


def _pm(score: Score, s: dict[str, Any]) -> str:
    """A summary's `mean ± sd` of `score` (just the mean for one seed)."""
    mean, std = s[f"{score.key}_mean"], s[f"{score.key}_std"]
    if score.percent:
        return format_pm(mean, std, s["n"])
    if s["n"] < 2 or std is None:
        return score.show(mean)
    return f"{score.show(mean)} ± {score.show(std)}"


def _summary_row(s: dict[str, Any], view: ScoreView) -> list[str]:
    """One row of the summary table: a (source, fraction) pair summarised over seeds."""
    key = view.first.key
    return [
        s["source"],
        f"{s['fraction']:g}",
        "–" if s.get("train_size") is None else str(s["train_size"]),
        str(s["n"]),
        _pm(view.first, s),
        _pm(view.second, s),
        f"{view.first.show(s[f'{key}_min'])}–{view.first.show(s[f'{key}_max'])}",
        f"{s['seconds_mean']:.1f}",
    ]


def _majority_rows(data: dict[str, Any]) -> list[list[str]]:
    """The summary table's majority-class rows, one per fraction whose cells kept one."""
    first = _view(data).first
    rows = []
    for fraction, majority in _majorities(data):
        if majority is not None:
            spread = f"{first.show(majority.low)}–{first.show(majority.high)}"
            rows.append([majority.name, f"{fraction:g}", "–", "–", first.show(majority.accuracy),
                         "–", spread, "–"])  # fmt: skip
    return rows


def _majority_legend(data: dict[str, Any]) -> str:
    """What the majority-class rows are, said under the table's header where it has them."""
    found = _majorities(data)
    said = _majority_missing(found)
    if not any(majority for _fraction, majority in found):
        return said
    return (
        " A majority-class row is the test accuracy of always predicting the label most "
        "frequent in the training split (each run's metrics.json `majority_baseline`; mean "
        "over the fraction's runs): a row not more than two standard errors above the "
        "highest of the runs' majority accuracies (the top of its range) is not "
        "distinguishably better than always predicting the majority class."
    ) + said


def _majority_missing(found: list[tuple[float, _Majority | None]]) -> str:
    """Why a classification's fraction has no majority-class row (and no verdict on it).

    `found`: `_majorities`. A compare.json of an earlier release kept no `majority_baseline`
    in its cells; where `load_compare` found no cell metrics.json to fill it in, the row was
    left out silently.
    """
    missing = [f"{fraction:g}" for fraction, majority in found if majority is None]
    if not missing:
        return ""
    return (
        f" No majority-class row for fraction {', '.join(missing)}: this compare.json "
        "predates it (its cells keep no `majority_baseline`, and no cell's metrics.json "
        "under cells/ had one to fill it in); re-run `vecgraft compare` into this folder "
        "(finished cells are reused) to add it."
    )


def _accuracy_blocks(data: dict[str, Any], plot: bool) -> list[_Block]:
    """The headline section: the summary table, the baseline verdicts and the plot."""
    view = _view(data)
    first, second = view.first, view.second
    unit = "Percent, mean" if first.percent else "Mean"
    lower = "" if second.higher_is_better else f" Lower {second.name} is better."
    blocks = [
        _Block("h2", f"Test {first.name} and {second.name}"),
        _Block(
            "p",
            f"{unit} ± sample standard deviation (ddof=1) over seeds; the range is "
            f"min–max of {first.name} over seeds. Time is the mean wall time of one run." + lower
            + _majority_legend(data),
        ),
        _Block(
            "table",
            headers=[
                "source",
                "fraction",
                "train texts",
                "seeds",
                first.header,
                second.header,
                f"{first.name} range",
                "time/run (s)",
            ],
            rows=[_summary_row(s, view) for s in data["summary"]] + _majority_rows(data),
        ),
    ]
    noise = PairedNoise(data)
    blocks.extend(_Block("p", line) for line in _verdicts(data, noise))
    if noise.used:
        blocks.append(_Block("p", _two_se_note(noise)))
    blocks.extend(_Block("p", _unpaired_note(fraction, why))
                  for fraction, why in sorted(noise.unpaired.items()))  # fmt: skip
    if plot:
        blocks.append(_Block("image", PLOT_FILE))
    return blocks


def _two_se_note(noise: PairedNoise) -> str:
    """What "2 SE" in the verdicts means, said under them where a gap had one."""
    from vecgraft.evaluate.bootstrap import RESAMPLES

    sizes = sorted(set(noise.tests.values()))
    texts = f"the {sizes[0]:,} test texts" if len(sizes) == 1 else "the test texts"
    return (
        f"2 SE: two standard errors of the gap between two rows, from a paired bootstrap "
        f"over the test texts. {texts[0].upper()}{texts[1:]} are drawn with replacement "
        f"{RESAMPLES:,} times (a fixed seed, so the report is the same every time); on each "
        "draw both rows are scored from their runs' kept per-text test predictions (a row "
        "of several seeds scores the mean of its runs; the majority class, always its "
        "label), and the standard deviation of the gaps over the draws is the gap's "
        "standard error. A gap within 2 SE is one that another sample of test texts of "
        "this size could well reverse: the rows are called not distinguishable. A gap "
        "beyond 2 SE is called a win. The draws are of test texts, not of training "
        "seeds: 2 SE is what another sample of test texts could do to the gap, not another "
        "seed, so a win of rows of one seed can be that seed's luck (run --seeds 3 or more "
        "and read the spread over seeds in the table beside it). Rows whose runs kept no "
        "test predictions (a "
        "compare.json of an earlier release) are judged as before: accuracy by two "
        "binomial standard errors of two accuracies as if independent, macro F1 by none."
    )


def _unpaired_note(fraction: float, why: str) -> str:
    """Why a fraction whose runs kept test predictions has no 2 SE (`PairedNoise.unpaired`)."""
    return (
        f"No 2 SE at fraction {fraction:g}: {why}, so its runs' kept test predictions cannot "
        "be paired and its verdicts judge accuracy by two binomial standard errors as if "
        "independent, macro F1 by none."
    )


def _source_row(s: dict[str, Any], columns: Sequence[str], skipped: bool = False) -> list[str]:
    """One row of the sources table: size, task coverage and intrinsic scores of a source."""
    cov = s.get("coverage") or {}
    size = s.get("size")
    return [
        s["name"],
        s["spec"] or s["name"],
        s["kind"] + (f" ({s['mode']})" if s.get("mode") else ""),
        f"{size[0]:,} × {size[1]}" if size else "–",
        _pct(cov.get("type_coverage")),
        _pct(cov.get("token_coverage")),
        *(_intrinsic_cell(s, name, skipped) for name in columns),
        f"{s.get('seconds', 0.0):.1f}",
    ]


def _source_notes(
    sources: Sequence[dict[str, Any]], agreed: bool = True, no_intrinsic: bool = False
) -> list[str]:
    """Notes under the sources table: missing words per source, then why scores are absent.

    Sources that were not scored for the same reason share one note, so a grid of many
    sources without the datasets says it once; so do the rows that took the vector
    sources' tokenizer (`agreed`), or jieba where Chinese sources disagreed. Scores kept
    from an earlier run are said where this run had --no-intrinsic (`no_intrinsic`): a row
    copied whole from an earlier grid keeps its flag, also into a run that scored.
    """
    notes: list[str] = []
    grouped: dict[str, list[str]] = {}
    for s in sources:
        for name, entry in (s.get("intrinsic") or {}).items():
            if name == "skipped":
                grouped.setdefault(f"intrinsic scores skipped ({entry})", []).append(s["name"])
            elif isinstance(entry, dict) and "error" in entry:
                grouped.setdefault(f"{name} not scored: {entry['error']}", []).append(s["name"])
        missing = (s.get("coverage") or {}).get("missing") or []
        if missing:
            shown = ", ".join(f"{printable(w)} ({c:,})" for w, c in missing[:8])
            notes.append(f"{s['name']}: most frequent training words it lacks: {shown}")
        if s.get("intrinsic_note"):
            notes.append(f"{s['name']}: {s['intrinsic_note']}")
        subword = subword_coverage_note(s.get("coverage"))
        if subword:
            notes.append(f"{s['name']}: coverage {subword}")
        if s.get("intrinsic_kept") and no_intrinsic:
            grouped.setdefault(f"{INTRINSIC_KEPT} (this run: --no-intrinsic)", []).append(
                s["name"])
        low = low_intrinsic_note(s["name"], s.get("intrinsic"))
        if low:
            notes.append(low)
        if s.get("text_settings"):  # no tokenizer of its own: the vector sources' (compare)
            grouped.setdefault(_took_note(s, agreed, sources), []).append(s["name"])
    return notes + [f"{', '.join(names)}: {why}" for why, names in grouped.items()]


def _took_note(
    source: dict[str, Any], agreed: bool, sources: Sequence[dict[str, Any]] = ()
) -> str:
    """How a row without a tokenizer of its own tokenized: the vector sources' settings.

    The linear row has no Chinese mode (jieba's words and its own character n-grams): it
    was said to tokenize with "zh_mode word+char" beside the random row that did. The rows
    that read the mode are named where not every other row of `sources` does: "the other
    rows read word+char" was false beside a source that reads characters.
    """
    from vecgraft.text.zh import reads_characters

    settings = dict(source["text_settings"])
    mode = settings.pop("zh_mode", None) if source.get("kind") == "linear" else None
    shown = ", ".join(f"{k} {v}" for k, v in settings.items())
    # where the vector sources record it; an earlier release's compare.json says no more
    taken = source.get("text_settings_from") or EARLIER_TAKEN_FROM
    if taken in (CHINESE_TEXTS, USER_DICT_JIEBA):  # no vector source gave it: finetune's choice
        why = f"tokenized with {shown} ({taken})"
    elif agreed:
        why = f"tokenized as the vector sources are ({shown}; from {taken})"
    else:
        why = f"tokenized with {shown} (the Chinese vector sources disagree)"
    if reads_characters(mode):
        why += (f", as jieba's words and the linear model's own character n-grams "
                f"(it has no Chinese mode; {_mode_readers(source, sources, mode)} read "
                f"{mode})")  # fmt: skip
    return why


def _mode_readers(source: dict[str, Any], sources: Sequence[dict[str, Any]], mode: Any) -> str:
    """The rows besides `source` that read Chinese mode `mode`: "the other rows" where all do."""
    others = [s for s in sources if s is not source]
    readers = [s["name"] for s in others if _zh_mode(s) == mode]
    if not readers or len(readers) == len(others):
        return "the other rows"
    return and_list(readers)


def _zh_mode(source: dict[str, Any]) -> str | None:
    """The Chinese mode a compare.json source row read: its own, or the one it took."""
    return source.get("zh_mode") or (source.get("text_settings") or {}).get("zh_mode")


def _sources_legend(columns: Sequence[str]) -> str:
    """What the sources table's columns mean (the CA8 columns' rules when it has them)."""
    legend = (
        "Coverage of the task's training vocabulary (full training set, tokenised as in "
        "fine-tuning): types = distinct words, tokens = weighted by count. Intrinsic: "
    )
    if set(SET_NAMES) <= set(columns):
        legend += (
            "Spearman ρ on WordSim353 and SimLex-999, with the pairs it rests on of the "
            "set's (for example, 24/353 would say the vectors hold both words of 24 of its "
            "353 pairs; low: under half the set, not comparable with a source that covers "
            "it); "
        )
    if any(name in ANALOGY_NAMES for name in columns):
        legend += (
            "for Chinese vectors, analogy accuracy on the CA8 morphological and semantic sets "
            "as `vecgraft intrinsic --lang zh` scores it (3CosAdd, the CA8 authors' rules, "
            "every row of the vectors a candidate), with the questions it rests on of the "
            "set's (for example, 1573/10177 would say the vectors hold the first three words "
            "of 1,573 of its 10,177 questions, an unknown fourth word counting as wrong; low: "
            "under half the set; n/a with "
            "0 of them: no question to answer); "
        )
    return legend + "n/a: dataset unavailable; – : not applicable."


def _no_intrinsic(data: dict[str, Any]) -> bool:
    """Whether this comparison ran with --no-intrinsic (its settings' `intrinsic` false)."""
    return data["settings"].get("compare", {}).get("intrinsic") is False


def _sources_blocks(data: dict[str, Any]) -> list[_Block]:
    """The sources section: what each embedding is and how well it covers the task."""
    columns = _intrinsic_columns(data["sources"])
    blocks = [
        _Block("h2", "Sources"),
        _Block("p", _sources_legend(columns)),
        _Block(
            "table",
            headers=[
                "source",
                "spec",
                "kind",
                "vectors",
                "type coverage",
                "token coverage",
                *(score_label(name) for name in columns),
                "prep (s)",
            ],
            rows=[_source_row(s, columns, _no_intrinsic(data)) for s in data["sources"]],
        ),
    ]
    notes = _source_notes(data["sources"], agreed="tokenizer_note" not in data["settings"],
                          no_intrinsic=_no_intrinsic(data))  # fmt: skip
    blocks.extend(_Block("p", n) for n in notes)
    return blocks


def _time_blocks(data: dict[str, Any]) -> list[_Block]:
    """The time section: what this invocation cost and how much it reused."""
    timings = data["timings"]
    return [
        _Block("h2", "Time"),
        _Block(
            "p",
            f"Total {timings['total_seconds']:.1f} s in this invocation; "
            f"{timings['cells_run']} runs computed, {timings['cells_reused']} reused from an "
            f"earlier invocation; sum of run times {timings['cell_seconds_sum']:.1f} s.",
        ),
    ]


def _run_row(
    c: dict[str, Any], out: str | None, view: ScoreView, fitted: frozenset[str] = frozenset()
) -> list[str]:
    """One row of the runs table; the run folder relative to the output so it stays short.

    `fitted`: sources with no epochs (the linear model, whose metrics.json says epoch 1).
    """
    epoch = None if c["source"] in fitted else c.get("best_epoch")
    return [
        c["source"],
        f"{c['fraction']:g}",
        str(c["seed"]),
        view.first.show(c[view.first.key]),
        view.second.show(c[view.second.key]),
        str(epoch or "–"),  # none kept: an ensemble cell, a linear model
        f"{c['seconds']:.1f}",
        os.path.relpath(c["run_dir"], out) if out else c["run_dir"],
    ]


def _runs_blocks(data: dict[str, Any]) -> list[_Block]:
    """The runs section: every (source, fraction, seed) cell, to find a run's folder."""
    out = data["settings"]["compare"].get("out")
    view = _view(data)
    fitted = frozenset(s["name"] for s in data.get("sources", []) if s.get("kind") == "linear")
    return [
        _Block("h2", "Runs"),
        _Block(
            "table",
            headers=[
                "source",
                "fraction",
                "seed",
                view.first.header,
                view.second.header,
                "best epoch",
                "time (s)",
                "run folder",
            ],
            rows=[_run_row(c, out, view, fitted) for c in data["cells"]],
        ),
    ]


def _settings_blocks(data: dict[str, Any]) -> list[_Block]:
    """The settings as JSON, so a reader can rerun the comparison exactly."""
    settings = json.dumps(data["settings"], indent=2, sort_keys=True, default=str)
    return [_Block("h2", "Settings"), _Block("code", settings)]


def _blocks(data: dict[str, Any], plot: bool) -> list[_Block]:
    """The report's sections in order; both renderings walk this one list."""
    return (
        _intro_blocks(data)
        + _accuracy_blocks(data, plot)
        + _sources_blocks(data)
        + _time_blocks(data)
        + _runs_blocks(data)
        + _settings_blocks(data)
    )


def _align(text: str) -> str:
    """Class attribute of a cell: text (names, paths) left-aligned, numbers right-aligned."""
    if _NUMERIC.match(text):
        return ""
    return ' class="t p"' if "/" in text else ' class="t"'


def _td(text: str) -> str:
    return f"<td{_align(text)}>{html.escape(text)}</td>"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _plot_alt(data: dict[str, Any]) -> str:
    return f"test {_view(data).first.name} against training fraction"


def render_markdown(data: dict[str, Any], *, plot: bool = True) -> str:
    """The report as GitHub-flavoured Markdown (the plot linked as a sibling PNG)."""
    return blocks_to_markdown(_blocks(data, plot), lambda b: f"![{_plot_alt(data)}]({b.text})")


def blocks_to_markdown(blocks: Sequence[_Block], image: Callable[[_Block], str | None]) -> str:
    """Markdown of report blocks; `image(block)` gives an image's line (None: leave it out).

    Shared by the comparison and the tuning reports, so both render tables alike.
    """
    lines: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            lines += [f"# {b.text}", ""]
        elif b.kind == "h2":
            lines += [f"## {b.text}", ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "table":
            lines.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            first = b.rows[0] if b.rows else [""] * len(b.headers)
            lines.append(
                "|" + "|".join("---:" if _NUMERIC.match(c) else "---" for c in first) + "|"
            )
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        elif b.kind == "image":
            line = image(b)
            if line is not None:
                lines += [line, ""]
        elif b.kind == "code":
            lines += ["```json", b.text, "```", ""]
    return "\n".join(lines)


def _inline_md(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def render_html(data: dict[str, Any], *, plot_png: bytes | None = None) -> str:
    """A self-contained HTML page: inline CSS, the plot embedded as a base64 PNG."""
    alt = _plot_alt(data)
    return blocks_to_html(
        _blocks(data, plot_png is not None),
        "vecgraft comparison",
        lambda _b: None if plot_png is None else (alt, plot_png),
    )


def blocks_to_html(
    blocks: Sequence[_Block], title: str, image: Callable[[_Block], tuple[str, bytes] | None]
) -> str:
    """A self-contained HTML page of report blocks; `image(block)` gives (alt text, PNG bytes).

    Shared by the comparison and the tuning reports (None from `image`: the image is left out).
    """
    body: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline_md(b.text)}</p>")
        elif b.kind == "table":
            first = b.rows[0] if b.rows else [""] * len(b.headers)
            head = "".join(
                f"<th{_align(c)}>{html.escape(h)}</th>" for h, c in zip(b.headers, first)
            )
            rows = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in b.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b.kind == "image" and (picture := image(b)) is not None:
            alt, png = picture
            encoded = base64.b64encode(png).decode("ascii")
            body.append(
                f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}"></p>'
            )
        elif b.kind == "code":
            body.append(f"<pre>{html.escape(b.text)}</pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f"<style>{_CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def plot_accuracy(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Mean test accuracy against training fraction, one line per source, ±1 sd error bars.

    A regression's comparison plots Pearson r instead.
    """
    from vecgraft._util.figures import new_figure, save_png

    first = _view(data).first
    scale = 100 if first.percent else 1

    fig = new_figure(7.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for s in data["summary"]:
        by_source.setdefault(s["source"], []).append(s)
    fractions: set[float] = set()
    for source, rows in by_source.items():
        rows = sorted(rows, key=lambda r: r["fraction"])
        xs = [r["fraction"] for r in rows]
        fractions.update(xs)
        ax.errorbar(
            xs,
            [scale * r[f"{first.key}_mean"] for r in rows],
            yerr=[scale * (r[f"{first.key}_std"] or 0.0) for r in rows],  # one seed: null
            marker="o",
            capsize=4,
            label=printable(source),  # a control character is a missing glyph
        )
    if fractions and max(fractions) / min(fractions) >= 10:
        ax.set_xscale("log")
    ticks = sorted(fractions)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlabel("training fraction")
    ax.set_ylabel(f"test {first.name}" + (" (%)" if first.percent else ""))
    ax.set_title(f"Test {first.name} against training fraction (mean ± sd over seeds)")
    ax.grid(True, alpha=0.3)
    # beside the axes: inside, at the lower right, it hid error bars of the best rows
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return save_png(fig, path)


def write_reports(data: dict[str, Any], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the plot, report.md and report.html into `out`; returns their paths.

    Without matplotlib the reports are written without the plot (and say nothing of it).
    """
    folder = Path(out)
    paths: dict[str, Path] = {}
    png: bytes | None = None
    try:
        paths["plot"] = plot_accuracy(data, folder / PLOT_FILE)
        png = paths["plot"].read_bytes()
    except MissingExtraError:
        png = None
    paths["markdown"] = folder / "report.md"
    atomic_write_text(paths["markdown"], render_markdown(data, plot=png is not None))
    paths["html"] = folder / "report.html"
    atomic_write_text(paths["html"], render_html(data, plot_png=png))
    return paths
