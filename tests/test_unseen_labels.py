"""A test label the training data lacks: its rows are kept and scored as errors, and said so.

Dropping them would inflate every score; stopping gave no result at all. The scores must be
scikit-learn's on the same gold and predicted label strings (a gold label never predicted
has recall 0, precision 0 by `zero_division=0`, F1 0, and counts in the macro average).
"""

from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score, f1_score

from vecgraft.finetune.labels import LabelMap
from vecgraft.finetune.metrics import classification_metrics


def test_scores_with_unseen_labels_are_scikit_learns_on_the_strings():
    model_labels = ["a", "b"]
    gold = ["a", "b", "z", "a", "y", "z"]
    pred = ["a", "a", "b", "a", "a", "b"]
    ids, unseen = LabelMap(model_labels).encode_scored(gold)
    names = model_labels + unseen.labels
    index = {label: i for i, label in enumerate(names)}
    m = classification_metrics(ids, [index[p] for p in pred], names, predictable=2)
    assert m.accuracy == pytest.approx(accuracy_score(gold, pred))
    assert m.macro_f1 == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert m.unseen_labels == ["y", "z"] and m.confusion[3] == [0, 2, 0, 0]
    with pytest.raises(Exception, match="y_pred holds class id 2 but there are 2 labels"):
        classification_metrics([0, 2], [0, 2], names, predictable=2)
