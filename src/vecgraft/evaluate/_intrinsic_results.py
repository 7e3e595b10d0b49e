"""Result records and the plain-text table of `intrinsic`'s analogy and similarity scores.

Split out of `vecgraft.evaluate.intrinsic`, which re-exports these names. This module and
`_intrinsic_similarity` import no torch, so `vecgraft intrinsic --help` lists the analogy
options (`AnalogyMethod`, `Convention`) without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from vecgraft.evaluate._intrinsic_similarity import SimilarityResult


class AnalogyMethod(StrEnum):
    """How an analogy `a : b :: c : ?` is answered (Levy & Goldberg 2014)."""

    COSADD = "3cosadd"
    COSMUL = "3cosmul"


class Convention(StrEnum):
    """Whose rules decide which analogy questions count and how they are scored.

    `gensim`: `KeyedVectors.evaluate_word_analogies` -- a question with any of its four words
    outside the vocabulary is skipped (or wrong with `dummy4unknown`), words are upper-cased
    when `case_insensitive`, 3CosMul uses epsilon 1e-6.

    `ca8`: the CA8 authors' `ana_eval_dense.py` -- a question is *seen* when its first three
    words are in the vocabulary (an unknown fourth word is simply wrong), words are compared
    as written, cosines are mapped to (cos + 1) / 2 and 3CosMul uses epsilon 0.01; coverage
    (seen / questions) is reported per section.
    """

    GENSIM = "gensim"
    CA8 = "ca8"


@dataclass
class SectionResult:
    """Accuracy on one section of an analogy file (e.g. `capital-common-countries`).

    `total` is the number of questions scored (ca8: the questions *seen*), `questions` the
    number in the file.
    """

    section: str
    correct: int
    total: int
    questions: int = 0

    @property
    def accuracy(self) -> float:
        """Correct / total (0 for an empty section)."""
        return self.correct / self.total if self.total else 0.0

    @property
    def coverage(self) -> float:
        """Scored / all questions of the section (CA8's per-category coverage)."""
        return self.total / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "section": self.section,
            "correct": self.correct,
            "total": self.total,
            "accuracy": self.accuracy,
            "questions": self.questions,
            "coverage": self.coverage,
        }


@dataclass
class AnalogyResult:
    """Analogy accuracy overall and per section.

    `total` excludes skipped questions: gensim's convention skips questions with any OOV word,
    CA8's those with an OOV word among the first three (`total` is then CA8's "seen").
    `skipped` holds the numbers of the lines that are not four words (gensim skips them too,
    saying so only in its log). `sections` has one entry per section name, in file order: a
    name whose header appears twice is one section, and a header with no question below it
    has no entry (gensim lists every header, empty ones too; Google's and CA8's files have
    neither case).
    """

    dataset: str
    method: str
    correct: int
    total: int
    oov: int
    questions: int
    restrict_vocab: int | None
    case_insensitive: bool
    dummy4unknown: bool
    seconds: float
    sections: list[SectionResult] = field(default_factory=list)
    convention: str = Convention.GENSIM.value
    skipped: list[int] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Correct / total over all sections."""
        return self.correct / self.total if self.total else 0.0

    @property
    def oov_ratio(self) -> float:
        """Percentage of questions skipped as out-of-vocabulary."""
        return self.oov / self.questions * 100 if self.questions else 0.0

    @property
    def coverage(self) -> float:
        """Scored / all questions."""
        return self.total / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = {k: v for k, v in asdict(self).items() if k != "sections"}
        out["accuracy"] = self.accuracy
        out["oov_ratio"] = self.oov_ratio
        out["coverage"] = self.coverage
        out["sections"] = [s.to_dict() for s in self.sections]
        return out


def format_results(
    similarity: Sequence[SimilarityResult] = (), analogy: Sequence[AnalogyResult] = ()
) -> str:
    """A plain-text table of intrinsic scores."""
    lines = []
    if similarity:
        lines.append(f"{'similarity':<28} {'spearman':>9} {'pearson':>9} {'pairs':>6} {'oov %':>6}")
        for sim in similarity:
            name = os.path.basename(sim.dataset)
            lines.append(
                f"{name:<28} {sim.spearman:>9.4f} {sim.pearson:>9.4f} {sim.pairs:>6d} "
                f"{sim.oov_ratio:>6.1f}"
            )
    for ana in analogy:
        if lines:
            lines.append("")
        name = os.path.basename(ana.dataset)
        title = f"{name} ({ana.method}, {ana.convention})"
        lines.append(f"{title:<40} {'correct':>8} {'total':>6} {'acc':>7} {'cover':>7}")
        for s in ana.sections:
            lines.append(
                f"{s.section:<40} {s.correct:>8d} {s.total:>6d} {_share(s.accuracy, s.total)} "
                f"{s.coverage:>7.2%}"
            )
        lines.append(
            f"{'TOTAL':<40} {ana.correct:>8d} {ana.total:>6d} {_share(ana.accuracy, ana.total)} "
            f"{ana.coverage:>7.2%}"
        )
        seen = "not seen" if ana.convention == Convention.CA8 else "skipped as OOV"
        lines.append(f"(questions {ana.questions}, {seen} {ana.oov}, {ana.seconds:.2f} s)")
    return "\n".join(lines)


def _share(value: float, total: int) -> str:
    """An accuracy column: "n/a" with no question answered (0 of 0 read as 0.00 %)."""
    return f"{value:>7.2%}" if total else f"{'n/a':>7}"
