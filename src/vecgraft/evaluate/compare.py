"""Compare embedding sources on one labelled task: one fine-tuning run per cell.

A *cell* is (source, training fraction, seed). Every cell is an ordinary `vecgraft.finetune`
run in `OUT/cells/<source>/frac-<f>/seed-<s>/`; its `metrics.json` is the cell's result, so
a rerun skips finished cells (resumable) and a half-finished cell is resumed from its last
checkpoint. Around the runs, each source gets its coverage of the task's training vocabulary
and its intrinsic scores; `OUT/compare.json` holds every number plus the exact settings and
`vecgraft.evaluate.report` renders `report.md` / `report.html`.

Source specs (`SourceSpec.parse`):
    linear                     the TF-IDF + linear SVM baseline (`--model linear`); added
                               by default as the row every pretrained source has to beat
    random                     the random-initialisation baseline
    PATH                       anything `vecgraft.load` reads (file, pretrain output folder,
                               GloVe .npy folder); a folder with a transformer checkpoint
                               (config.json + weights) means hf:PATH
    hf:PATH                    transformer checkpoint; the task vocabulary's vectors derived as
                               `finetune --vectors hf:PATH` derives them (`classifier_vectors`:
                               contextless, PCA 64, SIF), so the source compared is the one
                               trained; a folder whose source without a mode was derived in
                               `input` mode (before) continues with it, and says so
    hf:PATH:MODE               MODE input, contextless or corpus: the raw vectors of that mode
                               (full width, no PCA or SIF); MODE finetune trains the whole
                               checkpoint in each cell instead (model `hf`, its own defaults)
    NAME=SPEC                  any of the above shown as NAME

Example:
    >>> cfg = CompareConfig(train="train.csv", test="test.csv",
    ...                     sources=["random", "glove=glove.6B.50d.txt"],
    ...                     fractions=[0.05, 1.0], seeds=[0, 1, 2], out="runs/compare")
    >>> result = compare(cfg)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import links_replaced, make_folder
from vecgraft._util.callable_module import make_callable
from vecgraft._util.console import Progress, WarningsOnce, is_terminal
from vecgraft.errors import DataError, VecgraftError
from vecgraft.evaluate._compare_cells import CellResult as CellResult
from vecgraft.evaluate._compare_cells import CompareResult as CompareResult
from vecgraft.evaluate._compare_cells import Summary as Summary
from vecgraft.evaluate._compare_cells import _cell_from_metrics as _cell_from_metrics
from vecgraft.evaluate._compare_cells import _check_same_settings as _check_same_settings
from vecgraft.evaluate._compare_cells import _comparable as _comparable
from vecgraft.evaluate._compare_cells import _point_at as _point_at
from vecgraft.evaluate._compare_cells import _read_metrics as _read_metrics
from vecgraft.evaluate._compare_cells import _spread as _spread
from vecgraft.evaluate._compare_cells import cell_changes, check_cell, one_label_cells
from vecgraft.evaluate._compare_cells import cell_dir as cell_dir
from vecgraft.evaluate._compare_cells import run_cell as run_cell
from vecgraft.evaluate._compare_cells import summarize as summarize
from vecgraft.evaluate._compare_config import _CELL_FIELDS as _CELL_FIELDS
from vecgraft.evaluate._compare_config import _NAME as _NAME
from vecgraft.evaluate._compare_config import _RUNTIME_FIELDS as _RUNTIME_FIELDS
from vecgraft.evaluate._compare_config import _SAFE as _SAFE
from vecgraft.evaluate._compare_config import _WEIGHTS as _WEIGHTS
from vecgraft.evaluate._compare_config import CLASSIFIER_MODE as CLASSIFIER_MODE
from vecgraft.evaluate._compare_config import FINETUNE_MODE as FINETUNE_MODE
from vecgraft.evaluate._compare_config import INTRINSIC_SETS as INTRINSIC_SETS
from vecgraft.evaluate._compare_config import TRANSFORMER_MODES as TRANSFORMER_MODES
from vecgraft.evaluate._compare_config import CompareConfig as CompareConfig
from vecgraft.evaluate._compare_config import SourceKind as SourceKind
from vecgraft.evaluate._compare_config import SourceSpec as SourceSpec
from vecgraft.evaluate._compare_config import _is_checkpoint as _is_checkpoint
from vecgraft.evaluate._compare_config import _require_checkpoint as _require_checkpoint
from vecgraft.evaluate._compare_config import _stem as _stem
from vecgraft.evaluate._compare_config import parse_seeds as parse_seeds
from vecgraft.evaluate._compare_predictions import TestSets, cell_predictions
from vecgraft.evaluate._compare_scores import score_view
from vecgraft.evaluate._compare_sources import (
    ANALOGY_NAMES,
    CHINESE_TEXTS,
    SET_NAMES,
    USER_DICT_JIEBA,
    analogy_line,
    as_config_settings,
    base_tokenizer,
    continued_specs,
    intrinsic_text,
    is_analogy,
    keep_earlier_intrinsic,
    low_intrinsic_note,
    named_tokenizers,
    row_tokenizer,
    row_zh_mode,
    score_label,
    shared_text_settings,
    source_encodings,
    subword_coverage_note,
    taken_from,
    training_texts,
    training_vocab_of,
)
from vecgraft.evaluate._compare_sources import _intrinsic as _intrinsic
from vecgraft.evaluate._compare_sources import _prepare_source as _prepare_source
from vecgraft.evaluate._compare_sources import _training_vocab as _training_vocab
from vecgraft.evaluate._compare_sources import _transformer_vectors as _transformer_vectors
from vecgraft.evaluate._compare_sources import vectors_language as vectors_language
from vecgraft.evaluate._vectors_encoding import encoded_vector_file
from vecgraft.finetune.config import FinetuneConfig

__all__ = [
    "CellResult",
    "CompareConfig",
    "CompareResult",
    "SourceKind",
    "SourceSpec",
    "Summary",
    "cell_dir",
    "compare",
    "load_compare",
    "parse_seeds",
    "summarize",
]

# source specs and config: `_compare_config`; per-source preparation: `_compare_sources`;
# cells and summaries: `_compare_cells`


# -- driver --------------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    import platform

    import torch

    from vecgraft._util.version import __version__

    return {
        "vecgraft": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _cell_vocab(
    base: FinetuneConfig, vectors: str, vocab: Any, texts: list[str], encoding: str | None = None
) -> Any:
    """The training vocabulary tokenised as a cell on `vectors` will tokenise it.

    A cell takes what the user left unset from the vectors (their metadata.json's tokenizer,
    jieba say; lowercasing for lowercase vectors); counted with the base tokenizer instead,
    the coverage of Chinese vectors was that of whole clauses (6 % of types where the cells
    saw 82 %). `encoding`: the words' of a fastText .bin (None: UTF-8), as its cells read them.
    """
    from vecgraft.finetune.text_settings import resolve_text_options
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.text.vocab_build import _build_vocab

    file = encoded_vector_file(vectors, encoding)
    settings, lower = resolve_text_options(base.replace(vectors=vectors), file, lambda _m: None)
    tokenizer = Tokenizer(**settings, lower=lower, stopwords=base.stopwords)
    if tokenizer.config == base_tokenizer(base).config:
        return vocab
    # no warning: the cells say it (and the report, `_unsegmented_note`)
    return _build_vocab(texts, tokenizer, min_freq=base.min_freq, max_size=base.max_size)


def _check_user_dict(base: FinetuneConfig, specs: list[SourceSpec]) -> None:
    """Refuse a `user_dict` some cell cannot use before any source is prepared or cell run.

    Each cell checks its own as it starts, but by then the cells before it had run: a
    random source's cell, say, tokenizes with regex unless `tokenizer` names jieba.
    """
    if base.user_dict is None:
        return
    from vecgraft.errors import OptionError
    from vecgraft.finetune.text_settings import check_user_dict

    for spec in specs:  # vector files may name their tokenizer; the others take the base's
        vectors = str(spec.path) if spec.kind is SourceKind.VECTORS else "random"
        try:
            check_user_dict(base.replace(vectors=vectors))
        except OptionError as exc:
            raise exc.within(f"source {spec.name}") from None


def _require_extras(specs: list[SourceSpec]) -> None:
    """Every source's optional dependency, before any source is prepared.

    `--sources random g=glove.txt hf:MODEL` without the `hf` extra prepared g (a pass over
    the vectors file), then failed on the checkpoint.
    """
    from vecgraft._util.extras import require

    for spec in specs:
        if spec.kind in (SourceKind.TRANSFORMER, SourceKind.FINETUNE):
            require("transformers", "hf", feature=f"source {spec.name} (a transformer checkpoint)")


def _say_hf_skips_user_dict(
    config: CompareConfig, specs: list[SourceSpec], say: Callable[[str], None]
) -> None:
    """Say once which rows go without the `user_dict` (`CompareConfig.hf_skips_user_dict`)."""
    from vecgraft.finetune.metrics import and_list

    rows = [spec.name for spec in specs if spec.kind is SourceKind.FINETUNE]
    if rows and config.hf_skips_user_dict():
        which = f"source {rows[0]} reads its" if len(rows) == 1 else \
            f"sources {and_list(rows)} read their"  # fmt: skip
        say(f"compare: {which} checkpoint's own tokenizer: --user-dict applies to the other rows")


def _prepared_source(
    spec: SourceSpec,
    vocab: Any,
    texts: list[str],
    out: Path,
    config: CompareConfig,
    base: FinetuneConfig,
    say: Callable[[str], None],
    encoding: str | None = None,
) -> dict[str, Any]:
    """Prepare one source and say its task coverage, the first hint of how it will do."""
    say(f"source {spec.name}: preparing")
    if spec.kind is SourceKind.VECTORS:
        vocab = _cell_vocab(base, str(spec.path), vocab, texts, encoding)
    info = _prepare_source(spec, vocab, texts, out, intrinsic=config.intrinsic,
                           device=base.device, encoding=encoding)  # fmt: skip
    info["folder"] = spec.folder
    cov = info.get("coverage")
    if cov:
        say(
            f"source {spec.name}: {cov['type_coverage']:.1%} of training types, "
            f"{(cov['token_coverage'] or 0):.1%} of tokens covered"
        )
        subword = subword_coverage_note(cov)
        if subword:
            say(f"source {spec.name}: {subword}")
    scores = [analogy_line(name, entry) if name in ANALOGY_NAMES
              else f"{score_label(name)} {intrinsic_text(entry)}"
              for name, entry in (info.get("intrinsic") or {}).items()
              if (name in SET_NAMES and entry.get("spearman") is not None)
              or (name in ANALOGY_NAMES and is_analogy(entry))]  # fmt: skip
    if scores:  # with the pairs (questions) scored of each set's, as `vecgraft intrinsic` has
        say(f"source {spec.name}: {', '.join(scores)}")
    low = low_intrinsic_note(f"source {spec.name}", info.get("intrinsic"))
    if low:
        say(f"WARNING: {low}")
    return info


def _cell_base(config: CompareConfig, base: FinetuneConfig, source: dict[str, Any]) -> Any:
    """The settings a source's cells start from (its text settings; a transformer's own)."""
    if source["kind"] == SourceKind.FINETUNE.value:
        return config.finetune_config(source["hf_model"])
    return base.replace(**source.get("text_settings", {}))


def _run_grid(
    config: CompareConfig,
    base: FinetuneConfig,
    sources: list[dict[str, Any]],
    out: Path,
    say: Callable[[str], None],
    quiet: Callable[[str], None],
) -> list[CellResult]:
    """Run (or reuse) every (source, fraction, seed) cell in order, saying each result."""
    cells: list[CellResult] = []
    view = score_view(base.task)
    total = len(sources) * len(config.fractions) * len(config.seeds)
    # A cell can take minutes; off a terminal (no fine-tuning bars) say when each one starts.
    progress = Progress(total, "compare cell", enabled=base.progress is not False, bar=False)
    grid = [
        (source, _cell_base(config, base, source), fraction, seed)
        for source in sources
        for fraction in config.fractions
        for seed in config.seeds
    ]
    for source, cell_base, fraction, seed in grid:  # other settings on disk: said up front
        check_cell(cell_base, source, fraction, seed, out)
    test_sets: TestSets = {}  # read once per set of reading settings, for the predictions
    unpredicted: list[str] = []  # cells whose test predictions could not be kept
    for source, cell_base, fraction, seed in grid:
        # a finished cell is only read back: its "[k/n] ... (reused)" line says it all
        finished = (cell_dir(out, source["folder"], fraction, seed) / "metrics.json").exists()
        if not is_terminal() and not finished:
            progress.begin(f"{source['name']} fraction {fraction:g} seed {seed}")
        try:
            cell = run_cell(cell_base, source, fraction, seed, out, quiet, test_sets,
                            unpredicted.append, say)  # fmt: skip
        except (VecgraftError, OSError) as exc:  # the CLI prints the error itself
            say(_stopped_note(source["name"], fraction, seed, cells, out, exc))
            raise
        progress.count += 1
        cells.append(cell)
        state = "reused" if cell.reused else f"{cell.seconds:.1f} s"
        scores = ", ".join(
            f"{score.name} {cell.scores[score.key]:.4f}"
            for score in (view.first, view.second)
        )
        say(
            f"[{len(cells)}/{total}] {source['name']} fraction {fraction:g} seed {seed}: "
            f"{scores} ({state})"
        )
    if unpredicted:
        say(_unpredicted_note(unpredicted))
    return cells


def _unpredicted_note(cells: list[str]) -> str:
    """Which cells keep no test predictions: their rows' verdicts go without the bootstrap."""
    more = f", and {len(cells) - 1} more" if len(cells) > 1 else ""
    return (f"compare: no test predictions kept for {len(cells)} cell(s), so the verdicts on "
            f"their rows have no paired bootstrap standard error: {cells[0]}{more}")  # fmt: skip


def _stopped_note(
    name: str, fraction: float, seed: int, cells: list[CellResult], out: Path, exc: Exception
) -> str:
    """What `compare` says when a cell fails: where it stopped, what stays, what to do.

    Only the cells run now count as finished in this run (reused ones were counted too).
    A cell folder another command holds is no fault of the data or the source: wait for
    that command, or use another --out.
    """
    from vecgraft._util.folderlock import FolderBusyError

    ran = sum(not cell.reused for cell in cells)
    reused = len(cells) - ran
    kept = f"the {ran} cell(s) finished in this run"
    kept += f" (and {reused} reused)" if reused else ""
    if isinstance(exc, FolderBusyError):
        advice = ("another command holds that cell's folder: the same command reuses them "
                  "once it has ended, or use another --out")  # fmt: skip
    else:  # the data or a setting may be at fault as well as the source
        advice = "the same command reuses them once that is fixed (or the source left out)"
    return (
        f"compare: stopped at source {name} fraction {fraction:g} seed {seed} (the error "
        f"follows); {kept} stay in {out / 'cells'} with any earlier ones: {advice}"
    )


def _without_one_label(log: Callable[[str], None]) -> Callable[[str], None]:
    """`log` without the cells' "every test text was predicted" lines (said per cell later)."""
    from vecgraft.finetune.metrics import ONE_LABEL_WARNING

    def quiet(line: str) -> None:
        if not line.startswith(ONE_LABEL_WARNING):
            log(line)

    return quiet


def _texts_are_chinese(texts: list[str]) -> bool:
    """Whether the training texts are Chinese and jieba is there to segment them (unsaid)."""
    from vecgraft.finetune.text_settings import jieba_for

    return jieba_for(texts, lambda _line: None)


def _takes_shared(spec: SourceSpec, named: dict[str, dict[str, Any]]) -> bool:
    """Whether `spec`'s row takes the shared text settings: no tokenizer of its own.

    Not a fine-tuned transformer (`hf:...:finetune`): it reads its own subword tokenizer.
    """
    return spec.name not in named and spec.kind is not SourceKind.FINETUNE


def _chinese_rows(
    base: FinetuneConfig, shared: dict[str, Any], texts: list[str], say: Callable[[str], None]
) -> dict[str, Any]:
    """{"tokenizer": "jieba"} where the rows without a tokenizer of their own get Chinese.

    Else {}: they would cut Chinese into clauses with the regex rule.
    As `finetune` chooses (`auto_tokenizer`): no `--tokenizer`, none the vector sources
    give the others, and Chinese training texts or a jieba `--user-dict`. Decided here,
    once on the training file, so that the cells (each on its fraction), the coverage
    counts and compare.json agree.
    Limit: a "not Chinese" verdict is not pinned. Those cells keep `tokenizer` unset and
    each cell's finetune decides again on its own training rows, so a file sorted by
    language (English first) could give a small fraction jieba under a row compare.json
    records as regex. Pinning "regex" would change the linear row, whose unset tokenizer
    is scikit-learn's word pattern, not the regex tokenizer.
    """
    from vecgraft.finetune.text_settings import USER_DICT_JIEBA_NOTE, jieba_for

    if base.tokenizer is not None or shared.get("tokenizer") is not None:
        return {}
    if base.user_dict is not None:  # a jieba dictionary says jieba, whatever the texts
        say(f"compare: {USER_DICT_JIEBA_NOTE}")
        return {"tokenizer": "jieba"}
    return {"tokenizer": "jieba"} if jieba_for(texts, lambda line: say(f"compare: {line}")) else {}


def _unsegmented_note(
    vocab: Any, shared: dict[str, Any], base: FinetuneConfig, sources: list[dict[str, Any]]
) -> str | None:
    """What the regex (or whitespace) rows leave unsegmented, for the report; None: nothing.

    The training vocabulary is counted as the rows without vectors of their own tokenize;
    its check (Chinese, Japanese, Thai read as whole clauses) holds for every row of that
    tokenizer. Said only by the cells, on the console, the report's "X beats linear" read
    as a verdict on a fair baseline when every row cut Chinese into clauses.
    """
    lines = vocab.metadata.get("unsegmented") or []
    kind = row_tokenizer(base, shared, None)
    rows = [s["name"] for s in sources if s.get("tokenizer") == kind]
    if not lines or not rows:
        return None
    which = "every row" if len(rows) == len(sources) else f"the rows of {', '.join(rows)}"
    return f"{which} tokenizes with {kind}: " + "; ".join(lines)


def _intrinsic_sets(sources: list[dict[str, Any]]) -> list[str]:
    """The sets the sources were scored on: the English ones, CA8's after them if used."""
    used = {name for s in sources for name in s.get("intrinsic") or {}}
    return list(INTRINSIC_SETS) + [name for name in ANALOGY_NAMES if name in used]


def _timings(
    started: float, sources: list[dict[str, Any]], cells: list[CellResult]
) -> dict[str, Any]:
    """Where the time went, so a rerun's cost (reused vs computed cells) is visible."""
    return {
        "total_seconds": time.perf_counter() - started,
        "cells_run": sum(not c.reused for c in cells),
        "cells_reused": sum(c.reused for c in cells),
        "cell_seconds_sum": sum(c.seconds for c in cells),
        "source_seconds": {s["name"]: s["seconds"] for s in sources},
    }


def compare(
    config: CompareConfig,
    *,
    log: Callable[[str], None] | None = None,
    run_log: Callable[[str], None] | None = None,
    report: bool = True,
) -> CompareResult:
    """Run every (source, fraction, seed) cell and write compare.json and the reports.

    Args:
        config: the comparison.
        log: progress lines of the comparison (default: print).
        run_log: lines of each fine-tuning run (default: only their WARNING lines, each
            once, to `log`).
        report: also write report.md, report.html and the plot of the ranking score
            (accuracy; Pearson r for `task=regression`).

    Returns:
        CompareResult; its numbers are those of the cells' metrics.json files.

    The folder is locked while the comparison writes it (`out_lock`, as `finetune` locks
    its run folder): a second comparison into it fails at once, before any input is read.
    """
    from vecgraft._util.folderlock import out_lock
    from vecgraft._util.outputs import check_output_kind

    check_output_kind(config.out, "a comparison")  # before any input is read
    with out_lock(config.out):
        return _compare(config, log, run_log, report)


def _compare(
    config: CompareConfig,
    log: Callable[[str], None] | None,
    run_log: Callable[[str], None] | None,
    report: bool,
) -> CompareResult:
    """`compare` in the folder it holds."""
    started = time.perf_counter()
    say = log or print
    # the runs' warnings, each once; a one-label cell is named after the grid (`_one_label`)
    quiet = run_log or _without_one_label(WarningsOnce(say))
    base = config.base_config()
    specs = continued_specs(config.specs(), Path(config.out), say)  # an earlier hf:PATH's
    _require_extras(specs)
    _check_user_dict(base, specs)
    _say_hf_skips_user_dict(config, specs, say)
    encodings = source_encodings(specs, config.vectors_encoding)  # before any source is read
    out = Path(config.out)
    make_folder(out)

    # a link planted in a comparison folder handed over is replaced, never written through
    with links_replaced(out):
        named = named_tokenizers(specs)  # the sources whose vectors name their tokenizer
        taken = taken_from(specs, named)  # where they record it: metadata.json, or the file
        asked: list[bool] = []  # whether the disagreeing sources left the texts' kind to decide
        texts = training_texts(base)  # read once: the tokenizer decided, then one vocabulary

        def chinese_texts() -> bool:
            asked.append(_texts_are_chinese(texts))
            return asked[-1]

        shared, text_note = shared_text_settings(base, specs, named, say, taken, chinese_texts)
        takers = any(_takes_shared(spec, named) for spec in specs)
        chinese = _chinese_rows(base, shared, texts, say) if takers else {}
        if chinese:  # the rows without a tokenizer of their own segment with jieba
            shared = {**shared, **chinese}
        vocab = training_vocab_of(base.replace(**shared), texts)
        # jieba where no source gave a tokenizer: from the user's dictionary, or the texts
        jieba_from = (USER_DICT_JIEBA if base.user_dict is not None else CHINESE_TEXTS) if (
            chinese or any(asked)) else None
        sources = []
        for spec in specs:
            settings = shared if _takes_shared(spec, named) else {}
            source = _prepared_source(spec, vocab, texts, out, config,
                                      base.replace(**settings), say,
                                      encodings.get(spec.name))  # fmt: skip
            if settings:
                source["text_settings"] = settings  # run_grid's cells take them; compare.json too
                if jieba_from:  # the report says so
                    source["text_settings_from"] = jieba_from
                elif not text_note:  # all from the vector sources that agree: the report says where
                    source["text_settings_from"] = taken
            if spec.name in named:  # what its cells' unset settings resolve to (check_cell)
                source["own_text"] = as_config_settings(named[spec.name])
            if spec.kind is not SourceKind.FINETUNE:  # a fine-tuned run keeps its own
                source["tokenizer"] = row_tokenizer(base, settings, named.get(spec.name))
                zh_mode = row_zh_mode(base, settings, named.get(spec.name))
                # jieba of characters is not jieba of words (the report says); the linear
                # model has no Chinese mode: jieba's words and its own character n-grams
                if zh_mode and spec.kind is not SourceKind.LINEAR:
                    source["zh_mode"] = zh_mode
            sources.append(source)
        if not config.intrinsic:  # before compare.json is written over
            keep_earlier_intrinsic(out, sources, say)
        unsegmented = _unsegmented_note(vocab, shared, base, sources)
        cells = _run_grid(config, base, sources, out, say, quiet)
        collapsed = one_label_cells(cells)
        if collapsed:
            say(collapsed)

        kept_sources, kept_cells = _earlier_cells(out, base, sources, cells, config, say)
        if kept_cells:
            say(f"compare: keeping {len(kept_cells)} finished cells of an earlier grid in {out}")
        sources += kept_sources
        cells += kept_cells
        settings = {
            "compare": config.to_dict(),
            "earlier_cells": len(kept_cells),
            "earlier_sources": len(kept_sources),
            "finetune": _comparable(base.to_dict()) | {"device": base.device},
            "versions": _versions(),
            "intrinsic_sets": _intrinsic_sets(sources) if config.intrinsic
            or any(s.get("intrinsic_kept") for s in sources) else [],
        }
        if text_note:  # the vector sources disagree: what the other rows took (the report says)
            settings["tokenizer_note" if shared else "tokenizer_warning"] = text_note
        if unsegmented:  # the cells warn on the console; the report must say it too
            settings["unsegmented_warning"] = unsegmented
        timings = _timings(started, sources, cells)
        result = CompareResult(out, settings, sources, cells, summarize(cells), timings)
        from vecgraft._util.atomic import atomic_write_json

        atomic_write_json(out / "compare.json", result.to_dict(), finite=True)
        if report:
            from vecgraft.evaluate.report import write_reports

            write_reports(result.to_dict(), out)
        say(f"compare: {len(cells)} cells ({timings['cells_reused']} reused); report in {out}")
        return result


def _earlier_cells(
    out: Path,
    base: FinetuneConfig,
    sources: list[dict[str, Any]],
    cells: list[CellResult],
    config: CompareConfig,
    say: Callable[[str], None],
) -> tuple[list[dict[str, Any]], list[CellResult]]:
    """Finished cells of an earlier invocation into the same folder that this grid lacks.

    A rerun with another grid (more seeds, another fraction or source) must not drop the
    rows already computed: they are reported with the new ones when the fine-tuning settings
    are the same (else they are not comparable and stay out of the report). A cell of a row
    this grid runs must also have its settings as `check_cell` compares them (`config`):
    an earlier release's regex cells of Chinese texts were averaged with the new jieba
    ones in one row. Those left out are said.
    """
    try:
        old = load_compare(out)
    except DataError:
        return [], []
    from vecgraft.finetune.config import with_added_defaults

    now = base.to_dict()
    saved = with_added_defaults(old.get("settings", {}).get("finetune", {}), now)
    if _comparable(saved) != _comparable(now):
        return [], []
    have = {(c.source, c.fraction, c.seed) for c in cells}
    current = {s["name"]: s for s in sources}
    kept: list[CellResult] = []
    dropped: list[str] = []
    for c in old.get("cells", []):
        key = (c["source"], float(c["fraction"]), int(c["seed"]))
        run_dir = Path(c["run_dir"])
        if key in have or not (run_dir / "metrics.json").exists():
            continue
        other = _other_settings(config, base, current.get(key[0]), key, run_dir)
        if other:
            dropped.append(f"{key[0]} fraction {key[1]:g} seed {key[2]} ({other})")
            continue
        metrics = _read_metrics(run_dir / "metrics.json")
        cell = _cell_from_metrics(*key, run_dir, metrics, True, score_view(base.task))
        # only as kept in its folder: its settings are not this grid's to read the data with
        cell.predictions = cell_predictions(run_dir, metrics, None, {}, say)
        kept.append(cell)
    if dropped:
        say(f"compare: leaving out {len(dropped)} cell(s) of an earlier grid in {out}, run "
            f"with other settings than this grid's row: {'; '.join(dropped[:4])}")  # fmt: skip
    names = {s["name"] for s in sources}
    used = {c.source for c in kept}
    extra = [s for s in old.get("sources", []) if s["name"] not in names and s["name"] in used]
    return extra, kept


def _other_settings(
    config: CompareConfig,
    base: FinetuneConfig,
    source: dict[str, Any] | None,
    key: tuple[str, float, int],
    run_dir: Path,
) -> str | None:
    """How an earlier cell differs from this grid's cell of its row (`cell_changes`)."""
    if source is None:  # a row this grid does not run: its own row
        return None
    return cell_changes(_cell_base(config, base, source), source, key[1], key[2], run_dir)


def load_compare(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The content of a compare.json (or of the compare.json inside a folder).

    A cell without `majority_baseline` (written by an earlier release) takes it from its
    metrics.json in the folder's cells/, as a re-run would.
    """
    p = Path(path)
    if p.is_dir() or not p.suffix:
        p = p / "compare.json"
    if not p.exists():
        raise DataError(
            f"{p}: no such file; a comparison writes it when its cells are done (run "
            "`vecgraft compare` without --report-only first)"
        )
    data = _read_metrics(p)
    _fill_majority(data, p.parent)
    return data


def _fill_majority(data: dict[str, Any], out: Path) -> None:
    """Copy each cell's `majority_baseline` from `out`'s cells/ where compare.json lacks it.

    `--report-only` on an earlier release's folder wrote no majority-class row and no
    verdict on it, silently, though every cell's metrics.json kept the baseline. A cell
    whose metrics.json is missing, unreadable or without one is left as it is (the report
    says why its row is missing).
    """
    folders = {s.get("name"): s.get("folder") for s in data.get("sources") or []}
    for cell in data.get("cells") or []:
        folder = folders.get(cell.get("source"))
        if "majority_baseline" in cell or not isinstance(folder, str):
            continue
        try:
            run_dir = cell_dir(out, folder, float(cell["fraction"]), int(cell["seed"]))
            metrics = _read_metrics(run_dir / "metrics.json")
        except (KeyError, TypeError, ValueError, DataError):
            continue
        if isinstance(metrics.get("majority_baseline"), dict):
            cell["majority_baseline"] = metrics["majority_baseline"]


# `vecgraft.evaluate.compare` is both this module and its `compare` function, as
# `vecgraft.finetune`: `from vecgraft.evaluate import compare` gave the module, which said
# "'module' object is not callable"
make_callable(__name__, "vecgraft.evaluate.compare:compare")
