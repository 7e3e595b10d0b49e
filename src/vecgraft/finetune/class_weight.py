"""Class weights of an imbalanced classifier (`FinetuneConfig.class_weight`).

Why: on 98/2 data every part of a run learns to say the common class, since each text
counts the same and the rare class is worth 2 % of the loss. A class weight scales each
text's loss by its class's weight, in every part of a run alike: the network's training
cross-entropy, the linear model's (scikit-learn's `class_weight`), and the validation
log-loss that fits the fused model's pool (or the accuracy choosing its share), so the
fusion does not undo what the two models were taught.

"balanced" is scikit-learn's rule (`compute_class_weight("balanced")`): class c weighs
n_samples / (n_classes * count_c) over the training part's labels, so every class carries
the same total weight and the mean weight of a training text is 1 (the loss keeps its
scale). A mapping label -> weight gives them by hand; a label it leaves out weighs 1, and
a label the training part lacks (a tune fold's, a small split's) is unused there.

    >>> class_weight_vector("balanced", ["common", "rare"], [0] * 98 + [1] * 2)
    [0.5102040816326531, 25.0]
    >>> describe_class_weights("balanced", ["common", "rare"], [0.5102040816326531, 25.0])
    'class weights (balanced): common 0.51, rare 25.0'
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vecgraft._util.options import misfit, plain_number
from vecgraft.errors import ConfigError, DataError
from vecgraft.text._streams import label_text

__all__ = [
    "BALANCED",
    "check_class_weight",
    "check_mapping_labels",
    "class_weight_vector",
    "unused_mapping_labels",
    "describe_class_weights",
    "sklearn_class_weight",
]

BALANCED = "balanced"
# labels a log line names before it says how many more there are
_SHOWN = 20

_FORM = "class_weight is 'balanced' or a mapping label -> weight (a number > 0)"


def check_class_weight(value: Any) -> str | dict[str, float] | None:
    """`value` as the config keeps it: None, "balanced", or {label: float weight > 0}.

    Labels are read as the data files' labels are (`label_text`): `1: 5.0` and `1.0: 5.0`
    in a YAML file are label "1", `true:` is "true", a decomposed (NFD) key its NFC label.
    Two keys naming one label are refused.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value.lower() != BALANCED:
            raise ConfigError(f"{_FORM}; got {value!r}")
        return BALANCED
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{_FORM}; got {value!r}")
    out: dict[str, float] = {}
    for label, weight in value.items():
        # numpy's numbers too (`np.float32(2.0)`, a weight computed with numpy), as Python's
        number = isinstance(weight, numbers.Real) and misfit(weight, bool) is not None
        if not number or not math.isfinite(weight) or weight <= 0:
            raise ConfigError(f"{_FORM}; label {label!r} has {weight!r}")
        name = label_text(label)
        if name in out:
            raise ConfigError(f"class_weight names label {name!r} twice (key {label!r})")
        out[name] = float(plain_number(weight))
    return out


def class_weight_vector(
    setting: str | Mapping[str, float] | None, labels: Sequence[str], targets: Sequence[int]
) -> list[float] | None:
    """The weight of each label id [C] from the training part's label ids `targets`.

    None where `setting` is None. A mapping's labels that `labels` lack are unused here
    (`unused_mapping_labels`); `check_mapping_labels` refused, as the training file was
    read, the ones the whole training data lacks.
    """
    if setting is None:
        return None
    if isinstance(setting, str):
        counts = Counter(int(t) for t in targets)
        n = len(targets)
        return [n / (len(labels) * counts[i]) if counts[i] else 1.0 for i in range(len(labels))]
    return _given_weights(setting, labels)


def _given_weights(setting: Mapping[str, float], labels: Sequence[str]) -> list[float]:
    """Each label's weight by hand: the mapping's, 1 for a label it leaves out."""
    return [float(setting.get(label, 1.0)) for label in labels]


def check_mapping_labels(
    setting: str | Mapping[str, float] | None, known: Iterable[str], source: Any
) -> None:
    """Refuse a mapping's label that the training data `known` (file `source`) lacks.

    Why: a misspelt label would otherwise weigh nothing without a word. Checked on the
    whole training file as read, not on a run's training part: a class that a tune fold's
    or a subsampled split's training part lacks is no mistake (unused there), and refusing
    it there killed the trial.
    """
    if setting is None or isinstance(setting, str):
        return
    labels = sorted(set(known))
    unknown = sorted(set(setting) - set(labels))
    if unknown:
        import difflib

        close = {w: m[0] for w in unknown if (m := difflib.get_close_matches(w, labels, n=1))}
        hint = "".join(f"; did you mean {m!r} for {w!r}?" for w, m in close.items())
        raise DataError(
            f"class_weight names label(s) {unknown} the training data {source} lacks{hint}; "
            f"its labels: {_shown(map(repr, labels), len(labels))}"
        )


def unused_mapping_labels(
    setting: str | Mapping[str, float] | None, labels: Sequence[str]
) -> str | None:
    """The log line naming a mapping's labels this training part (`labels`) lacks, or None."""
    if setting is None or isinstance(setting, str):
        return None
    unused = sorted(set(setting) - set(labels))
    if not unused:
        return None
    return f"class_weight: label(s) {unused} not in this training part: unused here"


def sklearn_class_weight(
    setting: str | Mapping[str, float] | None, labels: Sequence[str], classes: Sequence[Any]
) -> str | dict[str, float] | None:
    """`setting` as a scikit-learn estimator takes it, for a fit whose classes are `classes`.

    "balanced" stays (scikit-learn weighs each fit by its own rows); a mapping covers every
    class (`classes[i]` names label `labels[i]`: the label itself, or its id as a string for
    the fused linear model), the ones it leaves out at 1.
    """
    if setting is None or isinstance(setting, str):
        return setting
    return {str(c): w for c, w in zip(classes, _given_weights(setting, labels))}


def describe_class_weights(
    setting: str | Mapping[str, float] | None, labels: Sequence[str], weights: Sequence[float]
) -> str:
    """The log's line: `class weights (balanced): common 0.51, rare 25.0`."""
    how = BALANCED if isinstance(setting, str) else "given"
    shown = _shown((f"{label} {_short(w)}" for label, w in zip(labels, weights)), len(labels))
    return f"class weights ({how}): {shown}"


def _short(weight: float) -> str:
    """Three significant digits, a float still: 0.5102 -> 0.51, 25 -> 25.0."""
    return repr(float(f"{weight:.3g}"))


def _shown(items: Iterable[str], total: int) -> str:
    """The first `_SHOWN` of `total` items, then how many more: a line stays readable."""
    head = ", ".join(itertools.islice(items, _SHOWN))
    return head + (f", ... ({total - _SHOWN} more)" if total > _SHOWN else "")
