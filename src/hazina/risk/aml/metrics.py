"""Precision, recall and F1 of a set of flagged accounts against the known launderers."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from hazina.kernel.invariant import invariant


@dataclass(frozen=True, slots=True)
class Scores:
    flagged: int  # accounts flagged within the population
    positives: int  # laundering accounts within the population
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score(flagged: Set[int], positives: Set[int], population: Set[int]) -> Scores:
    """Scores of `flagged` against `positives`, both restricted to `population`.

    Per typology, the population is that typology's accounts and every non-laundering account:
    accounts of other typologies are neither hits nor false alarms for it, while every false
    alarm counts against every typology.
    """
    invariant(positives <= population, "the positives belong to the population")
    inside = flagged & population
    true_positives = len(inside & positives)
    result = Scores(len(inside), len(positives), true_positives)
    invariant(result.true_positives <= min(result.flagged, result.positives), "counts agree")
    return result
