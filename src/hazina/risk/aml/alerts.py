"""What a scenario detector hands out: an alert on one account, with its evidence and a reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_alert_evidence_max


class Scenario(StrEnum):
    """The monitoring scenarios, each a detector in `hazina.risk.aml.scenarios`."""

    structuring = "structuring"
    rapid_pass_through = "rapid_pass_through"
    fan_in = "fan_in"
    fan_out = "fan_out"
    cycle = "cycle"
    dormant_then_active = "dormant_then_active"
    model = "model"  # the learned model's score crossed its threshold


class Typology(StrEnum):
    """Laundering typologies an alert can point to (AMLSim's names where it has one)."""

    cycle = "cycle"
    fan_in = "fan_in"
    fan_out = "fan_out"


# The typology a scenario's alert points to, when the scenario names one. Structuring,
# pass-through and dormancy are ways of moving money that every typology can use.
SCENARIO_TYPOLOGY: dict[Scenario, Typology] = {
    Scenario.cycle: Typology.cycle,
    Scenario.fan_in: Typology.fan_in,
    Scenario.fan_out: Typology.fan_out,
}


@dataclass(frozen=True, slots=True)
class Alert:
    """One scenario firing on one account."""

    scenario: Scenario
    account: int  # the subject: the account whose behaviour the scenario describes
    transaction_ids: tuple[int, ...]  # evidence, in time order, at most aml_alert_evidence_max
    counterparties: tuple[int, ...]  # the other accounts in the pattern, ascending
    reason: str  # one sentence an analyst can read

    def __post_init__(self) -> None:
        invariant(len(self.transaction_ids) > 0, "an alert carries evidence")
        invariant(len(self.transaction_ids) <= aml_alert_evidence_max, "alert evidence is bounded")
        invariant(self.account not in self.counterparties, "the subject is not a counterparty")
        invariant(bool(self.reason.strip()), "an alert says why")

    @property
    def typology(self) -> Typology | None:
        return SCENARIO_TYPOLOGY.get(self.scenario)


def flagged_accounts(alerts: Iterable[Alert]) -> set[int]:
    """The subjects of the alerts."""
    return {alert.account for alert in alerts}


# When several typed scenarios name one account, the most specific pattern wins.
_TYPOLOGY_PRECEDENCE = (Typology.cycle, Typology.fan_in, Typology.fan_out)


def attributed_typologies(alerts: Sequence[Alert]) -> dict[int, Typology | None]:
    """Each flagged account's typology: the first in precedence among its alerts' typologies,
    or None when only untyped scenarios (structuring, pass-through, dormancy) named it."""
    found: dict[int, set[Typology]] = {}
    for alert in alerts:
        typologies = found.setdefault(alert.account, set())
        if alert.typology is not None:
            typologies.add(alert.typology)
    result: dict[int, Typology | None] = {}
    for account, typologies in found.items():
        result[account] = next((t for t in _TYPOLOGY_PRECEDENCE if t in typologies), None)
    invariant(len(result) == len(found), "every flagged account is attributed")
    return result
