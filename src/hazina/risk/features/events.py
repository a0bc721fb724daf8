"""What the feature engine reads: one payment as an immutable event, and the engine's settings.

An event names the parties by opaque keys (an `int` or `str` each). A card payment has a
customer (the card) and a counterparty (the terminal); a mobile-money payment may also name a
payee as counterparty, the agent that handled the cash, the device it came from and the
customer's balance before it. Absent parties are `None`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import risk_history_window_s, risk_label_delay_s

Key = int | str

seconds_per_day = 86_400
seconds_per_hour = 3_600


class Role(StrEnum):
    """A party of a payment, other than the customer, that features are kept for."""

    counterparty = "counterparty"  # payee, merchant or card terminal: where the money goes
    agent = "agent"  # the cash agent or till that handled the payment
    device = "device"  # the phone or browser the customer used


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """One payment as the risk engine sees it; amounts are integers in minor units."""

    timestamp_s: int  # Unix seconds
    customer: Key
    amount_minor: int
    counterparty: Key | None = None
    agent: Key | None = None
    device: Key | None = None
    balance_before_minor: int | None = None  # the customer's balance before, when known

    def __post_init__(self) -> None:
        invariant(self.amount_minor >= 0, "a payment amount is never negative")
        invariant(self.timestamp_s >= 0, "timestamps are Unix seconds, not before 1970")

    def party(self, role: Role) -> Key | None:
        """The key of the party playing `role`, or `None`."""
        if role is Role.counterparty:
            return self.counterparty
        if role is Role.agent:
            return self.agent
        return self.device


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Which parties a deployment's payments carry, and the calendar and label rules.

    `label_delay_s`: the risk of a counterparty, agent or device at time t counts only payments
    made in whole days that ended at least this long before t, and only the fraud labels of
    them already known at t (the handbook's "delay period"; 7 days there).
    `utc_offset_s`: the local time zone, for the calendar features and day buckets.
    """

    roles: tuple[Role, ...] = (Role.counterparty,)
    balance: bool = False
    label_delay_s: int = risk_label_delay_s
    utc_offset_s: int = 0
    night_hour_max: int = 6  # the handbook: a payment at or before 06:59 is at night

    def __post_init__(self) -> None:
        invariant(len(set(self.roles)) == len(self.roles), "each role is listed once")
        invariant(
            tuple(sorted(self.roles, key=list(Role).index)) == self.roles,
            "roles are listed in the order of `Role`, so feature names are stable",
        )
        invariant(0 <= self.label_delay_s <= risk_history_window_s, "label delay out of range")
        invariant(abs(self.utc_offset_s) <= 14 * seconds_per_hour, "UTC offset out of range")
        invariant(0 <= self.night_hour_max < 24, "night ends within the day")

    @property
    def label_delay_days(self) -> int:
        """The delay in whole days, rounded up, so a delayed window never reaches past it."""
        return -(-self.label_delay_s // seconds_per_day)

    def to_json(self) -> dict[str, object]:
        return {
            "roles": [role.value for role in self.roles],
            "balance": self.balance,
            "label_delay_s": self.label_delay_s,
            "utc_offset_s": self.utc_offset_s,
            "night_hour_max": self.night_hour_max,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FeatureConfig:
        roles = data.get("roles")
        if not isinstance(roles, list):
            raise FeatureConfigError("a feature config needs a list of roles")
        try:
            return cls(
                roles=tuple(Role(str(role)) for role in roles),
                balance=bool(data.get("balance", False)),
                label_delay_s=_integer(data, "label_delay_s", risk_label_delay_s),
                utc_offset_s=_integer(data, "utc_offset_s", 0),
                night_hour_max=_integer(data, "night_hour_max", 6),
            )
        except ValueError as error:  # an unknown role name
            raise FeatureConfigError(str(error)) from error


class FeatureConfigError(ValueError):
    """A stored feature config that cannot be read back."""


def _integer(data: dict[str, object], name: str, default: int) -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise FeatureConfigError(f"feature config field {name} must be an integer")
    return value
