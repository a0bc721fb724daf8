"""Scoring loan applicants from their wallet history with a registered credit model.

Most of our borrowers have no credit file; what they have is a wallet. `credit.wallet` turns a
wallet's last 90 days into features; a model trained on those features (from the loans' own
outcomes: `hazina loans training-table`, then `hazina credit train`) scores each application.
The loans service records every application's features whatever happens, so the first model
can be trained once enough loans have an outcome, and each later one on more.

A champion whose features are not wallet-history features (a model trained on a bureau table
such as HELOC) cannot score a wallet: that is refused when the platform starts, never at
application time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

from hazina.credit.loans.records import CreditAssessment
from hazina.credit.model import CreditModel, decide
from hazina.credit.registry import CreditModelRegistry
from hazina.credit.wallet import wallet_feature_names
from hazina.kernel.invariant import invariant
from hazina.risk.registry import RegistryError

basis_points = 10_000


class WalletModelError(RegistryError):
    """The credit champion cannot score wallets: it wants features a wallet does not have."""

    code = "credit_model_unusable"


class ApplicantScorer:
    """A credit model over wallet-history features, as the loans service's score function."""

    def __init__(self, model: CreditModel, version: str) -> None:
        unknown = sorted(set(model.feature_names) - set(wallet_feature_names))
        if unknown:
            raise WalletModelError(
                f"credit model {version} uses features a wallet history does not give: "
                f"{', '.join(unknown[:5])}; train it on `hazina loans training-table` output"
            )
        self.model = model
        self.version = version

    def __call__(self, features: Mapping[str, float | None]) -> CreditAssessment:
        row = {name: _number(features.get(name)) for name in self.model.feature_names}
        frame = pd.DataFrame([row], columns=list(self.model.feature_names), dtype="float64")
        decision = decide(self.model, frame)[0]
        default_bps = round(decision.probability_of_default * basis_points)
        assessment = CreditAssessment(
            self.version,
            min(max(default_bps, 0), basis_points),
            decision.score,
            tuple(reason.code for reason in decision.reasons),
        )
        invariant(0 <= assessment.default_bps <= basis_points, "a probability in basis points")
        return assessment


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def champion_scorer(registry_root: Path) -> ApplicantScorer | None:
    """The registry's champion as a scorer; None when the registry has no champion yet."""
    registry = CreditModelRegistry(registry_root)
    champion = registry.champion()
    if champion is None:
        return None
    return ApplicantScorer(registry.load(champion.version), champion.version)
