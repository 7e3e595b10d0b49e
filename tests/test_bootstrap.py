"""The paired bootstrap of a gap between two rows' test scores (`vecgraft.evaluate.bootstrap`)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from vecgraft.evaluate import bootstrap
from vecgraft.evaluate.bootstrap import paired_se, resample_indices, resampled_scores


def _one_moved() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """300 test texts, 210 of label 0; always 0, and a row that moves one 1-text off it."""
    gold = np.array([0] * 210 + [1] * 90)
    majority = np.zeros(300, dtype=int)
    moved = majority.copy()
    moved[-1] = 1  # a 1-text, now right
    return gold, majority, moved


def _spread_apart() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """200 balanced texts: a row right on 84 of each label's 100, one right on 40 of each."""
    gold = np.array([0] * 100 + [1] * 100)
    good, poor = gold.copy(), gold.copy()
    good[84:100], good[184:200] = 1, 0
    poor[40:100], poor[140:200] = 1, 0
    return gold, good, poor


def test_macro_f1_on_each_draw_is_scikit_learns() -> None:
    # a rare class (absent from most draws) and a predicted class no gold text has
    gold = np.array([0, 0, 0, 0, 1, 1, 1, 2, 0, 1, 0, 1])
    pred = np.array([0, 1, 0, 3, 1, 1, 0, 2, 0, 0, 3, 1])
    draws = resample_indices(len(gold), 50)
    expected = [f1_score(gold[d], pred[d], average="macro", zero_division=0) for d in draws]
    got = resampled_scores([(gold, pred)], "macro_f1", resamples=50)
    assert got == pytest.approx(expected, abs=1e-12)
    accuracy = [accuracy_score(gold[d], pred[d]) for d in draws]
    assert resampled_scores([(gold, pred)], "accuracy", resamples=50) == pytest.approx(accuracy)


@pytest.mark.parametrize("cells", [7 * 300, 300])
def test_draws_held_in_blocks_are_the_draws(monkeypatch: pytest.MonkeyPatch, cells: int) -> None:
    # blocks of 7 draws (the last of 5); of one draw, with sparse class counts (300 x 2 > 300)
    gold, majority, moved = _one_moved()
    monkeypatch.setattr(bootstrap, "_CHUNK_CELLS", cells)
    draws = resample_indices(300, 40)
    assert draws.shape == (40, 300)
    expected = [f1_score(gold[d], moved[d], average="macro") for d in draws]
    assert resampled_scores([(gold, moved)], "macro_f1", resamples=40) == pytest.approx(expected)
    # rows scored together are scored on the same draws as each alone
    together = bootstrap.resampled_rows([[(gold, moved)], [(gold, majority)]], "macro_f1",
                                        resamples=40)  # fmt: skip
    assert together[0] == pytest.approx(expected)
    assert together[1] == pytest.approx([f1_score(gold[d], majority[d], average="macro")
                                         for d in draws])  # fmt: skip


def test_one_text_moved_off_the_majority_is_within_two_standard_errors() -> None:
    gold, majority, moved = _one_moved()
    # by accuracy the gap on a draw is the moved text's count in it, over 300
    counts = (resample_indices(300) == 299).sum(axis=1)
    se = paired_se([(gold, moved)], [(gold, majority)], "accuracy")
    assert se == pytest.approx(np.std(counts, ddof=1) / 300, abs=1e-15)
    assert 2 * se > 1 / 300
    # by macro F1: 0.4236 against 0.4118 (1.18 points), which the one text's draws swamp
    gap = f1_score(gold, moved, average="macro") - f1_score(gold, majority, average="macro")
    assert gap == pytest.approx((420 / 509 + 2 / 91) / 2 - 420 / 510 / 2)
    two_se = 2 * paired_se([(gold, moved)], [(gold, majority)], "macro_f1")
    assert gap < two_se
    draws = resample_indices(300)
    gaps = [f1_score(gold[d], moved[d], average="macro") - f1_score(gold[d], majority[d],
            average="macro") for d in draws[:100]]  # fmt: skip
    first = resampled_scores([(gold, moved)], "macro_f1")[:100] \
        - resampled_scores([(gold, majority)], "macro_f1")[:100]  # fmt: skip
    assert first == pytest.approx(gaps, abs=1e-12)


def test_84_against_40_is_beyond_two_standard_errors() -> None:
    gold, good, poor = _spread_apart()
    assert f1_score(gold, good, average="macro") == pytest.approx(0.84)
    assert f1_score(gold, poor, average="macro") == pytest.approx(0.40)
    two_se = 2 * paired_se([(gold, good)], [(gold, poor)], "macro_f1")
    assert 0.05 < two_se < 0.44 / 3


def test_a_row_of_several_runs_scores_their_mean_on_the_same_draws() -> None:
    gold, good, poor = _spread_apart()
    both = resampled_scores([(gold, good), (gold, poor)], "macro_f1", resamples=30)
    alone = [resampled_scores([(gold, p)], "macro_f1", resamples=30) for p in (good, poor)]
    assert both == pytest.approx((alone[0] + alone[1]) / 2)
    # the same predictions twice: a gap of 0 on every draw
    assert paired_se([(gold, good)], [(gold, good), (gold, good)], "accuracy") == 0.0


def test_runs_of_other_sizes_or_metrics_are_refused() -> None:
    gold, good, _poor = _spread_apart()
    with pytest.raises(ValueError, match="same positive number"):
        resampled_scores([(gold, good), (gold[:-1], good[:-1])], "accuracy")
    with pytest.raises(ValueError, match="same positive number"):
        resampled_scores([(gold, good[:-1])], "accuracy")
    with pytest.raises(ValueError, match="metric must be one of accuracy, macro_f1"):
        resampled_scores([(gold, good)], "pearson")
