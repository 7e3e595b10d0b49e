"""The report of `vecgraft tune`: Markdown and a self-contained HTML page, as `compare`'s.

Both renderings come from one list of blocks (the same CSS and table rules as
`vecgraft.evaluate.report`); plots come from Optuna's matplotlib backend, written as PNG
files next to the Markdown and embedded as base64 in the HTML.
"""

from __future__ import annotations

import io
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_bytes, atomic_write_text
from vecgraft.errors import MissingExtraError
from vecgraft.evaluate.report import _Block
from vecgraft.finetune.metrics import majority_words

__all__ = [
    "comparison_words", "importances", "majority_warning", "render_html", "render_markdown",
    "score_text", "write_tune_reports",
]

HISTORY_PLOT = "optimization_history.png"
IMPORTANCE_PLOT = "param_importances.png"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def score_text(metric: str, value: Any) -> str:
    """A score in tune's one unit: accuracy as a percentage, macro F1 and loss as fractions.

    Why: the report set "0.6500 | 0.7733" beside "network alone 58.67%" and a fusion table
    in percent, and the console said "validation accuracy 0.7500" where the report said
    75.00%; both print scores through this. A regression's metric is `loss` (its MSE).
    """
    if value is None:
        return "–"
    return f"{100 * float(value):.2f}%" if metric == "accuracy" else f"{float(value):.4f}"


# Importances are a random forest fitted on (settings -> score) of the completed trials:
# with fewer trials than this many per searched setting they mostly rank noise
TRIALS_PER_SETTING = 2


def importances(study: Any) -> tuple[dict[str, float], str | None]:
    """Optuna's parameter importances, or ({}, why not) with too few completed trials.

    With fewer than `TRIALS_PER_SETTING` completed trials per searched setting, the
    importances come with a note that they are a hint at most.
    """
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2:
        return {}, f"importances need at least 2 completed trials ({len(done)} completed)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            weights = dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        return {}, f"importances unavailable: {exc}"
    if len(done) < TRIALS_PER_SETTING * len(weights):
        return weights, (
            f"Only {len(done)} completed trials for {len(weights)} searched settings: these "
            "importances mostly rank noise; a hint at most (more --trials make them firmer)."
        )
    return weights, None


def _importance_blocks(weights: dict[str, float], note: str | None) -> list[_Block]:
    """The importances table and plot, or the reason there are none (too few trials)."""
    if not weights:
        return [_Block("p", note or "no importances")]
    caveat = [_Block("p", note)] if note else []
    return [
        *caveat,
        _Block(
            "table",
            headers=["setting", "importance"],
            rows=[[k, f"{v:.3f}"] for k, v in weights.items()],
        ),
        _Block("image", IMPORTANCE_PLOT),
    ]


def _state_counts(trials: list[dict[str, Any]]) -> str:
    """How many trials ended in each state ("3 complete, 1 pruned"), to show pruning at a glance."""
    states: dict[str, int] = {}
    for row in trials:
        states[row["state"]] = states.get(row["state"], 0) + 1
    return ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))


def _selection_text(data: dict[str, Any]) -> str:
    """Which rule chose the retrained trial, in words (older tune.json files have none)."""
    choice = data.get("selection")
    if not choice:
        return f"Trial #{data['best']['number']} had the best validation score."
    return f"Selection rule `{choice['rule']}`: {choice['reason']}."


def _fusion_blocks(
    best: dict[str, Any],
    final: dict[str, Any],
    trials: list[dict[str, Any]] | None = None,
    metric: str = "accuracy",
) -> list[_Block]:
    """The final model's fusion and the chosen trial's fused score at each share.

    The fusion is a log-linear pool fitted on the chosen trial's validation rows, or the
    share best on them; the score is accuracy, or for a regression the mean squared error.
    Nothing for runs that did not fuse, or for tune.json files older than the fusion.
    """
    mse = best.get("fusion_mse")
    fused = mse or best.get("fusion_accuracy")
    metric = "loss" if mse else metric  # a regression's scores are squared errors
    weight, pool = final.get("fuse_weight"), final.get("fuse_pool")
    if best.get("fusion_fixed_score") is not None:
        regression = "rmse" in final.get("test", {})  # the fixed fusion sets no fusion_mse
        return [_Block("p", _fixed_fusion_text(best, weight, pool, metric, regression))]
    if not fused or (weight is None and pool is None):
        return []
    if pool is not None:
        text = (
            "The final model is fused with the TF-IDF linear model by a log-linear pool, "
            f"softmax({_fmt(pool[0])} log p_network + {_fmt(pool[1])} log p_linear), fitted "
            "on the chosen trial's validation rows (validation accuracy "
            f"{100 * float(best['fusion_pool_accuracy']):.2f}%), as `finetune` fits it. The "
            "table shows the plain mix at each share for comparison."
        )
        if final.get("class_weight") is not None:  # its accuracy may be below the table's
            text += (" The pool minimises the class-weighted validation log loss "
                     "(class_weight), not accuracy.")  # fmt: skip
        judged = "at their own pool"
    else:
        text = (
            f"The final model is fused with the TF-IDF linear model: the network's share of "
            f"the prediction is {_fmt(weight)}, the best on the chosen trial's validation "
            "rows (1 is the network alone, 0 the linear model alone)."
        )
        judged = "at their own best share"
    if best.get("judged_by") == "fused":
        alone_score = score_text(metric, best["network_value"])
        text += (
            f" Trials were judged by this fused score {judged}, the model the final run "
            f"ships (the chosen trial's network alone: {alone_score})."
        )
    alone = linear_alone_text(weight, pool, trials or [], best.get("judged_by") == "fused",
                              regression=bool(mse))  # fmt: skip
    if alone:
        text += f" {alone}"
    header = "validation MSE" if mse else "validation accuracy"
    rows = [[w, f"{float(v):.4f}" if mse else f"{100 * float(v):.2f}%"] for w, v in fused.items()]
    return [_Block("p", text), _Block("table", headers=["network share", header], rows=rows)]


def linear_alone_text(
    weight: float | None,
    pool: Sequence[float] | None,
    trials: list[dict[str, Any]],
    judged_fused: bool,
    regression: bool = False,
) -> str | None:
    """A sentence where the final fusion gives the network no weight (None otherwise).

    A pool of "network x0, linear x3.18" (or share 0) ships the TF-IDF linear model alone:
    the chosen settings that change only the network change none of its predictions.
    Where every completed trial's fusion did the same, trials were judged fused and their
    scores are equal, the choice among them was arbitrary; where the scores differ, a
    searched setting that changes the linear model itself (class_weight, the tokenizer)
    set them, so the sentence says that instead of "scored alike".
    """
    share = pool[0] if pool is not None else weight
    if share is None or float(share) != 0.0:
        return None
    model = "ridge regression" if regression else "linear model"
    text = (f"The fusion gives the network no weight: the final model is the TF-IDF {model} "
            "alone, and the chosen settings that change only the network do not change its "
            "predictions")  # fmt: skip
    done = [r for r in trials if r.get("state") == "COMPLETE"]
    if not (judged_fused and done and all(_gave_no_weight(r, pool is not None) for r in done)):
        return text + "."
    what = "pool" if pool is not None else "share"
    text += f"; every completed trial's {what} did the same ({len(done)}), so "
    values = [float(r["value"]) for r in done if r.get("value") is not None]
    if len(values) == len(done) and max(values) - min(values) <= 1e-12:
        return text + "they scored alike and the choice among them means nothing."
    return text + (f"only the searched settings that change the {model} itself (such as "
                   "class_weight or the tokenizer) told their scores apart.")  # fmt: skip


def _gave_no_weight(row: dict[str, Any], by_pool: bool) -> bool:
    """Whether a trial's own fusion gave the network no weight (its pool or its share)."""
    share = (row.get("fusion_pool") or [None])[0] if by_pool else row.get("fused_share")
    return share is not None and float(share) == 0.0


def _fixed_fusion_text(
    best: dict[str, Any], weight: Any, pool: Any, metric: str, regression: bool = False
) -> str:
    """The fusion the user fixed (--fuse-weight, --fuse-pool), and how trials were judged.

    The fused score is accuracy (a regression's MSE) whatever the run's metric: named so.
    """
    if pool is not None:
        how = (f"by the log-linear pool given, softmax({_fmt(pool[0])} log p_network + "
               f"{_fmt(pool[1])} log p_linear)")  # fmt: skip
    else:
        how = f"at the network share given, {_fmt(weight)} (1 is the network alone)"
    what, unit = ("MSE", "loss") if regression else ("accuracy", "accuracy")
    text = (
        f"The final model is fused with the TF-IDF linear model {how}, not chosen on "
        f"validation rows; the chosen trial's fused validation {what} is "
        f"{score_text(unit, best['fusion_fixed_score'])}."
    )
    if best.get("judged_by") == "fused":
        text += (
            " Trials were judged by this fused score, the model the final run ships (the "
            f"chosen trial's network alone: {score_text(metric, best['network_value'])})."
        )
    return text


def _score_name(data: dict[str, Any]) -> str:
    """What a trial's value is, in words: "validation accuracy (fused)"."""
    fused = " (fused)" if data["best"].get("judged_by") == "fused" else ""
    return f"validation {data['metric']}{fused}"


def _result_table(metric: str, best: dict[str, Any], final: dict[str, Any]) -> _Block:
    """The chosen trial's validation score next to the final model's test scores."""
    test = final["test"]
    label = f"chosen trial #{best['number']} (validation) → final (test)"
    valid = score_text(metric, best["value"])
    if best.get("judged_by") == "fused":
        metric = f"{metric} (fused)"
    if "rmse" in test:  # a regression
        return _Block(
            "table",
            headers=["", metric, "test RMSE", "test Pearson r", "test Spearman rho"],
            rows=[[label, f"{best['value']:.4f}", f"{test['rmse']:.4f}",
                   f"{test['pearson']:.4f}", f"{test['spearman']:.4f}"]],
        )  # fmt: skip
    return _Block(
        "table",
        headers=["", metric, "test accuracy", "test macro F1"],
        # the console's units, as the sentence under it: accuracy in percent (the
        # validation score too where it is accuracy), macro F1 and loss as fractions
        rows=[[label, valid, score_text("accuracy", test["accuracy"]),
               score_text("macro_f1", test["macro_f1"])]],
    )  # fmt: skip


def comparison_words(test: dict[str, Any]) -> str:
    """The final test's floors in words: each model of a fused run alone, the majority class.

    E.g. "TF-IDF linear model alone 84.33%, network alone 75.33%; majority class '1'
    70.67%" ("" where tune.json keeps none: an older one).
    """
    if "mean_rmse" in test or "rmse" in test:  # a regression: RMSE, the lower the better
        parts = [f"{what} alone RMSE {test[key]:.4f}" for what, key in (
            ("TF-IDF ridge regression", "linear_rmse"), ("network", "network_rmse")
        ) if key in test]  # fmt: skip
        floor = f"mean baseline RMSE {test['mean_rmse']:.4f}" if "mean_rmse" in test else ""
    else:
        parts = [f"{what} alone {100 * test[key]:.2f}%{_f1_text(test, part)}"
                 for what, part, key in (
                     ("TF-IDF linear model", "linear", "linear_accuracy"),
                     ("network", "network", "network_accuracy"),
                 ) if key in test]  # fmt: skip
        floor = _majority_text(test) if "majority_accuracy" in test else ""
    return "; ".join(p for p in (", ".join(parts), floor) if p)


def _f1_text(test: dict[str, Any], part: str) -> str:
    """" (macro F1 0.4872)" where tune.json keeps `part`'s macro F1 (metric macro_f1), else "".

    Why: on 95/5 labels the linear model alone at 95.00% read as better than the network,
    though it only ever said the majority label.
    """
    value = test.get(f"{part}_macro_f1")
    return "" if value is None else f" (macro F1 {value:.4f})"


def majority_warning(metric: str, test: dict[str, Any]) -> str | None:
    """A WARNING where the final test score on `metric` is below the majority class's.

    `test`: tune.json's final "test" block. A tuned model at 90.75% accuracy and macro F1
    0.4758, worse than always saying '1' (95.00%, 0.4872) on both, shipped unsaid. With
    `metric: loss` (no majority loss to compare with) it compares by accuracy, and says so.
    """
    by_loss = metric == "loss"
    metric = "accuracy" if by_loss else metric
    floor = test.get(f"majority_{metric}")
    if metric not in ("accuracy", "macro_f1") or floor is None or metric not in test:
        return None
    if test[metric] >= floor:
        return None
    shown = ((f"{100 * test[metric]:.2f}%", f"{100 * floor:.2f}%") if metric == "accuracy"
             else (f"{test[metric]:.4f}", f"{floor:.4f}"))  # fmt: skip
    name, hint = ("accuracy", " (with imbalanced labels, look at macro F1, not accuracy)")
    if by_loss:
        hint = " (tuned on the loss, compared by accuracy; with imbalanced labels, look at " \
               "macro F1, not accuracy)"
    if metric == "macro_f1":
        name, hint = "macro F1", ""
    return (
        f"WARNING: the final model's test {name} {shown[0]} is below always predicting the "
        f"majority class {test['majority_label']!r} ({shown[1]}): it tells the classes "
        f"apart worse than no model at all{hint}"
    )


def _majority_text(test: dict[str, Any]) -> str:
    """The majority-class floor in words, with the tie that chose its label, as finetune says.

    320 rows each of 'neg' and 'pos' read "majority class 'neg'", as if 'neg' were commoner.
    """
    accuracy = f"{100 * test['majority_accuracy']:.2f}%{_f1_text(test, 'majority')}"
    if not test.get("majority_tied"):
        return f"majority class {test['majority_label']!r} {accuracy}"
    words = majority_words({"label": test["majority_label"], "tied": test["majority_tied"],
                            "rows": test.get("majority_rows")})  # fmt: skip
    return f"majority class (always {words}) {accuracy}"


def _comparison_blocks(test: dict[str, Any], metric: str) -> list[_Block]:
    """The line under the result table: what the final test score is to be compared with.

    Then the warning where the final model is below the majority class on `metric`.
    """
    words = comparison_words(test)
    blocks = [_Block("p", f"On the same test rows: {words}.")] if words else []
    warning = majority_warning(metric, test)
    return blocks + ([_Block("p", f"{warning}.")] if warning else [])


def _duplicates_text(duplicates: dict[str, Any] | None) -> str:
    """The test texts that also occur in the training data, removed or kept ("" if none).

    With --no-dedupe the report called every test row unseen, its training twins too.
    """
    count = int((duplicates or {}).get("count") or 0)
    if not count:
        return ""
    if (duplicates or {}).get("removed"):
        return (f" {count} more test text(s) also occur in the training data: removed "
                "from test (not among these rows).")  # fmt: skip
    return (f" {count} of these test texts also occur in the training data: kept "
            "(--no-dedupe), so the test score counts texts the final model trained on.")


def _read_blocks(notes: dict[str, Any]) -> list[_Block]:
    """What reading the data files dropped or repaired, one line a file, as finetune says it.

    The console said it before the search; a report read later said nothing of the rows
    the search and the test score left out (older tune.json files have no "read").
    """
    from vecgraft.text.report import ReadReport

    reports = [ReadReport.from_dict(r) for r in (notes.get("read") or {}).values()]
    said = [report.format() for report in reports if report.noteworthy]
    if not said:
        return []
    return [_Block("p", "Reading the data: " + "; ".join(said) + ".")]


_TOKENIZER_IN_BEST_YAML = {
    # taken from the vectors' metadata (older tune.json files say no more); the lines are
    # tune's as said, so an older run's "metadata.json" wording is shown as it was
    None: "best.yaml leaves `tokenizer` unset: `finetune` with the same vectors takes it "
          "from them again.",
    "space": "best.yaml sets it, as every trial had it.",
    "search": "best.yaml sets the chosen trial's.",
    # no vectors gave one: tune chose jieba for the Chinese training texts (`auto_tokenizer`)
    "texts": "best.yaml sets it (`tokenizer: jieba`), as every trial had it.",
    # a study started with `tokenizer` unset (the regex rule then), continued with it
    "study": "best.yaml sets it (`tokenizer: regex`), as every trial had it.",
}  # fmt: skip


def _tokenizer_blocks(notes: dict[str, Any]) -> list[_Block]:
    """The trials' tokenizer as tune's log said it: the vectors', or fixed or searched by --space.

    best.yaml leaves `tokenizer` unset where the vectors' metadata gave it (`finetune`
    on the same vectors takes it again), and sets it where the space fixed or searched it.
    """
    said = notes.get("tokenizer") or []
    if not said:
        return []
    where = _TOKENIZER_IN_BEST_YAML[notes.get("tokenizer_from")]
    return [_Block("p", " ".join(f"{line}." for line in said) + f" {where}")]


def _timeout_blocks(data: dict[str, Any]) -> list[_Block]:
    """A search `--timeout` cut short, as tune's log said it (tune.json `stopped_by_timeout`)."""
    stopped = data.get("stopped_by_timeout")
    return [_Block("p", f"Note: {stopped}.")] if stopped else []


def _blocks(data: dict[str, Any], weights: dict[str, float], note: str | None) -> list[_Block]:
    best, final, notes = data["best"], data["final"], data["data"]
    metric = data["metric"]
    blocks = [
        _Block("h1", f"vecgraft tune: {data['model']} ({data['study']})"),
        _Block(
            "p",
            f"Trials saw only training data: {notes['trials']}. Test data: {notes['test']}. "
            f"The best settings were retrained on all {final['train_rows']} training rows "
            f"for {final['epochs']} epoch(s) and scored once on the "
            f"{final['test_rows']} test rows.{_duplicates_text(final.get('duplicates'))}",
        ),
        *_read_blocks(notes),
        *_tokenizer_blocks(notes),
        *_timeout_blocks(data),
        _Block("h2", "Result"),
        _Block("p", _selection_text(data)),
        *_fusion_blocks(best, final, data.get("trials"), metric),
        _result_table(metric, best, final),
        *_comparison_blocks(final["test"], metric),
        _Block("h2", "Chosen trial"),
        _Block(
            "table",
            headers=["setting", "value"],
            rows=[[k, _fmt(v)] for k, v in sorted(best["params"].items())]
            + [["best epoch", _fmt(best["best_epoch"])]],
        ),
        _Block("h2", "Optimisation history"),
        _Block("image", HISTORY_PLOT),
        _Block("h2", "Parameter importances"),
    ]
    blocks += _importance_blocks(weights, note)
    blocks += [
        _Block("h2", "Trials"),
        _Block("p", _state_counts(data["trials"])),
        _trials_table(data["trials"], metric),
        _Block("h2", "Search space"),
        _Block("code", json.dumps(data["space"], indent=2)),
    ]
    return blocks


def _trials_table(trials: list[dict[str, Any]], metric: str) -> _Block:
    """Every trial's state, validation score and time; why it failed, where one did."""
    headers = ["trial", "state", f"validation {metric}", "seconds"]
    rows = [[str(r["number"]), r["state"], score_text(metric, r["value"]), _fmt(r["seconds"])]
            for r in trials]  # fmt: skip
    if any(r.get("error") for r in trials):
        headers.append("error")
        for row, r in zip(rows, trials):
            row.append(r.get("error") or "")
    return _Block("table", headers=headers, rows=rows)


def render_markdown(
    data: dict[str, Any], weights: dict[str, float], note: str | None, images: set[str]
) -> str:
    """The report as Markdown (plots linked as sibling PNG files)."""
    from vecgraft.evaluate.report import blocks_to_markdown

    return blocks_to_markdown(
        _blocks(data, weights, note),
        lambda b: f"![{b.text}]({b.text})" if b.text in images else None,
    )


def render_html(
    data: dict[str, Any], weights: dict[str, float], note: str | None, images: dict[str, bytes]
) -> str:
    """A self-contained HTML page: inline CSS, plots embedded as base64 PNG."""
    from vecgraft.evaluate.report import blocks_to_html

    return blocks_to_html(
        _blocks(data, weights, note),
        "vecgraft tune",
        lambda b: (b.text, images[b.text]) if b.text in images else None,
    )


# how the retrained trial is marked on the history plot, by selection rule
_RETRAINED_LABEL = {"one-se": "retrained (one-SE rule)", "best": "retrained (top trial)"}


def _retrained(data: dict[str, Any]) -> tuple[int, str]:
    """The retrained trial's number and its legend label (older tune.json: no rule).

    Why: a default tune (one validation split) retrains the top trial, which the one-SE rule
    chose only in name: the star said "retrained (one-SE rule)". Where the selection names
    its top trial, the label says whether the retrained one is it.
    """
    selection = data.get("selection") or {}
    number = int(data["best"]["number"])
    top = selection.get("top_number")
    if top is not None:
        return number, _RETRAINED_LABEL["best" if int(top) == number else "one-se"]
    return number, _RETRAINED_LABEL.get(str(selection.get("rule")), "retrained")


def _history_axes(study: Any, target: str, chosen: int | None, label: str) -> Any:
    """Optuna's history plot, with the retrained trial marked and the legend kept inside.

    Why: its "Best Value" line steps to the top trial, which the one-SE rule may not
    retrain, so a reader took the top trial for the shipped one; its legend, right of the
    axes, took about 40% of the width; with 3 trials its x axis showed 0.5, 1.5.
    """
    from matplotlib.ticker import MaxNLocator
    from optuna.visualization import matplotlib as ovm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        ax = ovm.plot_optimization_history(study, target_name=target)
    for line in ax.get_lines():
        if line.get_label() == "Best Value":
            line.set_label("best score so far")
    trial = next((t for t in study.get_trials(deepcopy=False)
                  if t.number == chosen and t.value is not None), None)  # fmt: skip
    if trial is not None:
        ax.scatter([trial.number], [trial.value], s=160, marker="*", color="tab:orange",
                   edgecolors="black", zorder=3, label=label)  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small",
              frameon=False)  # fmt: skip
    return ax


def _importance_axes(study: Any, target: str) -> Any:
    """Optuna's importance plot, its legend below the axes (it covered the top bar)."""
    from optuna.visualization import matplotlib as ovm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        ax = ovm.plot_param_importances(study, target_name=target)
    if ax.get_legend() is not None:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small",
                  frameon=False)  # fmt: skip
    return ax


def _plots(
    study: Any,
    weights: dict[str, float],
    target: str = "Objective Value",
    chosen: tuple[int, str] | None = None,
) -> dict[str, bytes]:
    """PNG bytes of Optuna's history (and importance) plots; empty without matplotlib.

    `target` names the trials' score on the axes (e.g. "validation accuracy"); `chosen`
    is the retrained trial's number and legend label, marked on the history plot.
    """
    from vecgraft._util.extras import require

    require("matplotlib", "plot", feature="plotting")
    import matplotlib.pyplot as plt  # Optuna draws through pyplot; figures are closed below

    number, label = chosen if chosen is not None else (None, "")
    axes = [(HISTORY_PLOT, _history_axes(study, target, number, label))]
    if weights:
        axes.append((IMPORTANCE_PLOT, _importance_axes(study, target)))
    out: dict[str, bytes] = {}
    for name, ax in axes:
        fig: Any = ax.figure
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()
    return out


def write_tune_reports(data: dict[str, Any], study: Any, out: str | Path) -> dict[str, Path]:
    """report.md, report.html and the PNG plots in `out` (plots skipped without matplotlib)."""
    folder = Path(out)
    weights, note = importances(study)
    try:
        images = _plots(study, weights, _score_name(data), _retrained(data))
    except MissingExtraError as exc:
        print(f"note: plots skipped: {exc}", file=sys.stderr)
        images = {}
    written: dict[str, Path] = {}
    for name, png in images.items():
        atomic_write_bytes(folder / name, png)
        written[name] = folder / name
    atomic_write_text(folder / "report.md", render_markdown(data, weights, note, set(images)))
    atomic_write_text(folder / "report.html", render_html(data, weights, note, images))
    written.update(md=folder / "report.md", html=folder / "report.html")
    return written
