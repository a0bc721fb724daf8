"""The credit model families, by name: each trains a `CreditModel` from a `CreditDataset`."""

from __future__ import annotations

from collections.abc import Callable

from hazina.credit import blend, boosting, scorecard
from hazina.credit.data import CreditDataset
from hazina.credit.model import CreditModel

Fit = Callable[[CreditDataset, int], CreditModel]

families: dict[str, Fit] = {
    scorecard.family: scorecard.fit,
    boosting.family: boosting.fit,
    blend.family: blend.fit,
}


class UnknownFamilyError(ValueError):
    code = "credit_family_unknown"


def fit(family: str, dataset: CreditDataset, seed: int = 0) -> CreditModel:
    if family not in families:
        raise UnknownFamilyError(f"unknown model family {family!r}; one of {sorted(families)}")
    return families[family](dataset, seed)
