"""How much of a scored file a run's vocabulary cannot read: the warning `evaluate` prints.

Why: a model trained on simplified Chinese and scored on traditional text (or on text in
another language, or segmented otherwise) reads most tokens as the unknown word and scores
near chance, and the numbers alone do not say why. In-domain test texts leave a few percent
of their tokens unknown; half of them unknown is a different kind of data, and so is a
sixth of them when those are mostly traditional Chinese.

    >>> UnknownTokens(tokens=400, unknown=300).share
    0.75
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from itertools import islice

__all__ = ["UNKNOWN_SAMPLE", "UNKNOWN_WARN", "UnknownTokens", "count_unknown", "with_missing"]

# the texts of a scored file whose tokens are counted (the first ones)
UNKNOWN_SAMPLE = 2000
# the share of unknown tokens that is warned about, and the fewest tokens to judge it on
UNKNOWN_WARN = 0.5
UNKNOWN_MIN_TOKENS = 100
# the share of unknown Chinese words in traditional characters that adds the --simplified hint
TRADITIONAL_HINT = 0.3
# ... and the share of unknown tokens it is said at: traditional text on a simplified model
# keeps its unchanged characters (的, 不, 是): ChnSentiCorp's test reviews in traditional
# characters left 35 % of their tokens unknown (simplified: 4 %) and lost 4 points
TRADITIONAL_WARN = 0.15


@dataclass
class UnknownTokens:
    """Tokens of (the first `texts` of) a scored file, and those the vocabulary lacks."""

    texts: int = 0
    tokens: int = 0
    unknown: int = 0
    examples: list[str] = field(default_factory=list)  # the commonest unknown tokens
    traditional: float | None = None  # share of the unknown Chinese words OpenCC would change

    @property
    def share(self) -> float:
        """Unknown tokens / tokens (0 when there are none)."""
        return self.unknown / self.tokens if self.tokens else 0.0

    def warning(self, where: str) -> str | None:
        """The line to print, or None when the share is what in-domain text leaves."""
        traditional = self.traditional is not None and self.traditional >= TRADITIONAL_HINT
        floor = TRADITIONAL_WARN if traditional else UNKNOWN_WARN
        if self.tokens < UNKNOWN_MIN_TOKENS or self.share < floor:
            return None
        from vecgraft._util.console import word_list

        line = (
            f"WARNING: {where}: {self.share:.0%} of the tokens of its first {self.texts:,} "
            f"texts are not in the run's vocabulary (such as {word_list(self.examples[:5])}) "
            "and read as the unknown word"
        )
        if self.share >= UNKNOWN_WARN:
            line += (
                "; text in another language, script or segmentation than the training "
                "texts scores near chance"
            )
        if traditional:
            line += (
                f". {self.traditional:.0%} of the unknown Chinese words are traditional: "
                "convert the texts to simplified (OpenCC t2s) or retrain with --simplified"
            )
        return line


def count_unknown(
    tokenize: Callable[[str], list[str]], vocab: Container[str], texts: Sequence[str]
) -> UnknownTokens:
    """`UnknownTokens` of the first `UNKNOWN_SAMPLE` texts under a run's tokenizer."""
    report = UnknownTokens()
    missing: Counter[str] = Counter()
    for text in islice(texts, UNKNOWN_SAMPLE):
        report.texts += 1
        tokens = tokenize(text)
        report.tokens += len(tokens)
        missing.update(t for t in tokens if t not in vocab)
    return with_missing(report, missing)


def with_missing(report: UnknownTokens, missing: Counter[str]) -> UnknownTokens:
    """`report` given its unknown tokens, counted (examples, traditional share)."""
    from vecgraft.text.zh import traditional_share

    report.unknown = sum(missing.values())
    report.examples = [t for t, _ in missing.most_common(10)]
    if report.unknown:
        report.traditional = traditional_share(t for t, _ in missing.most_common())
    return report
