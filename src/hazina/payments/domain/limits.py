"""KYC tier limits: how much a wallet may hold, and send per transaction, per day and per month.

The more an operator knows about a customer, the more the customer may move: regulators tie
wallet limits to the level of identity verification (KYC tier). These checks are pure: the
caller computes what the wallet holds and has sent in the current day and month (in whatever
time zone and calendar the operator reports in) and passes it in as a `WalletUsage`.

All amounts are integers in minor units of the table's currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import ClassVar

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import ledger_amount_max
from hazina.kernel.money import CurrencyError, currency
from hazina.payments.domain.tariffs import (
    ScaleRounding,
    display_amount,
    scale_from_kes,
)


class KycTier(IntEnum):
    unverified = 0  # a phone number only
    basic = 1  # a national ID checked against the registry
    full = 2  # full KYC: ID, photo and proof of address
    enhanced = 3  # enhanced due diligence, or a registered business


class LimitTableError(ValueError):
    """A limit table, or one tier's limits, that cannot be used as given."""

    code: ClassVar[str] = "limit_table_invalid"


class LimitsNotConfiguredError(LookupError):
    """The table has no limits for a currency and tier: a configuration gap, not a refusal."""

    code: ClassVar[str] = "limits_not_configured"


class LimitRefusalCode(StrEnum):
    """Why a movement is refused, in the precedence order the checks apply. All are transient
    except `limit_per_transaction`: the same amount may pass tomorrow, next month, or after
    the wallet has spent some of its balance."""

    limit_per_transaction = "limit_per_transaction"
    limit_daily_volume = "limit_daily_volume"
    limit_monthly_volume = "limit_monthly_volume"
    limit_max_balance = "limit_max_balance"


@dataclass(frozen=True, slots=True)
class LimitRefusal:
    """A refused movement. `limit` is the limit that would be broken and `attempted` the value
    it would have reached: the amount itself for a per-transaction limit, the day's or month's
    outflow including the amount, or the balance after the amount arrives."""

    code: LimitRefusalCode
    reason: str
    limit: int
    attempted: int


def _check_amount(value: object, name: str) -> None:
    if type(value) is not int:
        raise LimitTableError(f"{name} must be an integer count of minor units, got {value!r}")
    if not 0 <= value <= ledger_amount_max:
        raise LimitTableError(f"{name} must be between 0 and {ledger_amount_max}, got {value}")


@dataclass(frozen=True, slots=True)
class TierLimits:
    """The limits of one KYC tier in one currency. `currency` and `tier` travel with the limits
    so a refusal can say which limit of which tier was hit."""

    currency: str
    tier: KycTier
    max_balance: int
    per_transaction: int
    daily_volume: int
    monthly_volume: int

    def __post_init__(self) -> None:
        try:
            currency(self.currency)
        except CurrencyError as error:
            raise LimitTableError(f"limits currency: {error}") from None
        if not isinstance(self.tier, KycTier):
            raise LimitTableError(f"unknown KYC tier {self.tier!r}")
        for name in ("max_balance", "per_transaction", "daily_volume", "monthly_volume"):
            _check_amount(getattr(self, name), name)
        # A per-transaction limit above the daily one (or a daily above the monthly) could
        # never be reached: it is a typo in the table, not a policy.
        if self.per_transaction > self.daily_volume:
            raise LimitTableError(
                f"{self.currency} tier {int(self.tier)}: per_transaction {self.per_transaction} "
                f"exceeds daily_volume {self.daily_volume}"
            )
        if self.daily_volume > self.monthly_volume:
            raise LimitTableError(
                f"{self.currency} tier {int(self.tier)}: daily_volume {self.daily_volume} "
                f"exceeds monthly_volume {self.monthly_volume}"
            )


@dataclass(frozen=True, slots=True)
class WalletUsage:
    """What a wallet holds and has sent in the current day and month, in minor units."""

    balance: int
    daily_outflow: int
    monthly_outflow: int

    def __post_init__(self) -> None:
        for name in ("balance", "daily_outflow", "monthly_outflow"):
            value = getattr(self, name)
            invariant(type(value) is int, f"{name} is an integer count of minor units")
            invariant(0 <= value <= ledger_amount_max, f"{name} is within the ledger's range")
        # The day is part of the month, so a larger daily figure means the caller's sums are off.
        invariant(self.daily_outflow <= self.monthly_outflow, "a day's outflow is in its month's")


@dataclass(frozen=True, slots=True)
class LimitTable:
    """Tier limits by (currency, tier); each pair at most once."""

    entries: tuple[TierLimits, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        seen: set[tuple[str, KycTier]] = set()
        for entry in self.entries:
            if not isinstance(entry, TierLimits):
                raise LimitTableError(f"every entry must be TierLimits, got {entry!r}")
            key = (entry.currency, entry.tier)
            if key in seen:
                raise LimitTableError(f"{entry.currency} tier {int(entry.tier)} is given twice")
            seen.add(key)

    def limits_for(self, currency_code: str, tier: KycTier) -> TierLimits:
        for entry in self.entries:
            if entry.currency == currency_code and entry.tier == tier:
                return entry
        raise LimitsNotConfiguredError(
            f"no limits are configured for {currency_code} KYC tier {int(tier)}"
        )

    def with_limits(self, limits: TierLimits) -> LimitTable:
        """A new table with `limits` in place of any for the same currency and tier."""
        kept = tuple(
            entry
            for entry in self.entries
            if (entry.currency, entry.tier) != (limits.currency, limits.tier)
        )
        table = LimitTable((*kept, limits))
        invariant(table.limits_for(limits.currency, limits.tier) is limits, "limits replaced")
        return table


def _check_movement(usage: WalletUsage, amount_minor: int) -> None:
    invariant(isinstance(usage, WalletUsage), "usage is a WalletUsage")
    invariant(type(amount_minor) is int, "amounts are integer minor units")
    invariant(0 <= amount_minor <= ledger_amount_max, "amount is within the ledger's range")


def check_outflow(limits: TierLimits, usage: WalletUsage, amount_minor: int) -> LimitRefusal | None:
    """Refuse sending `amount_minor` if it breaks the per-transaction, daily or monthly limit,
    in that precedence order; None when it is within all three."""
    _check_movement(usage, amount_minor)
    tier = int(limits.tier)

    def show(amount: int) -> str:
        return display_amount(amount, limits.currency)

    if amount_minor > limits.per_transaction:
        return LimitRefusal(
            LimitRefusalCode.limit_per_transaction,
            f"the per-transaction limit of {show(limits.per_transaction)} for KYC tier {tier} "
            f"would be exceeded: {show(amount_minor)} requested",
            limit=limits.per_transaction,
            attempted=amount_minor,
        )
    daily = usage.daily_outflow + amount_minor
    if daily > limits.daily_volume:
        return LimitRefusal(
            LimitRefusalCode.limit_daily_volume,
            f"the daily limit of {show(limits.daily_volume)} for KYC tier {tier} would be "
            f"exceeded: {show(usage.daily_outflow)} already sent today, "
            f"{show(amount_minor)} requested",
            limit=limits.daily_volume,
            attempted=daily,
        )
    monthly = usage.monthly_outflow + amount_minor
    if monthly > limits.monthly_volume:
        return LimitRefusal(
            LimitRefusalCode.limit_monthly_volume,
            f"the monthly limit of {show(limits.monthly_volume)} for KYC tier {tier} would be "
            f"exceeded: {show(usage.monthly_outflow)} already sent this month, "
            f"{show(amount_minor)} requested",
            limit=limits.monthly_volume,
            attempted=monthly,
        )
    invariant(amount_minor <= limits.per_transaction, "an accepted amount is within its limit")
    invariant(daily <= limits.daily_volume and monthly <= limits.monthly_volume, "within volume")
    return None


def check_inflow(limits: TierLimits, usage: WalletUsage, amount_minor: int) -> LimitRefusal | None:
    """Refuse receiving `amount_minor` if the balance would go above the tier's maximum."""
    _check_movement(usage, amount_minor)
    balance = usage.balance + amount_minor
    if balance > limits.max_balance:
        code = limits.currency
        return LimitRefusal(
            LimitRefusalCode.limit_max_balance,
            f"the maximum balance of {display_amount(limits.max_balance, code)} for KYC tier "
            f"{int(limits.tier)} would be exceeded: {display_amount(usage.balance, code)} "
            f"already held, {display_amount(amount_minor, code)} incoming",
            limit=limits.max_balance,
            attempted=balance,
        )
    invariant(balance <= limits.max_balance, "an accepted inflow keeps the balance in bounds")
    return None


# Default limits, in whole KES: (max balance, per transaction, daily, monthly) per tier.
#
# Tier 2 matches the Central Bank of Kenya's limits for mobile money since 2020 (a KES 500,000
# balance, KES 250,000 a transaction, KES 500,000 a day). Tiers 0 and 1 follow the usual
# proportionate approach (low limits for an unverified phone number, raised once an ID is
# checked); tier 3 is for businesses and customers under enhanced due diligence. Other
# currencies reuse the table through the round-number rates of `tariffs.kes_exchange_rates`,
# rounded down so a converted limit is never more generous than the KES one.
_kes_tier_limits: dict[KycTier, tuple[int, int, int, int]] = {
    KycTier.unverified: (50_000, 20_000, 50_000, 150_000),
    KycTier.basic: (300_000, 100_000, 150_000, 1_000_000),
    KycTier.full: (500_000, 250_000, 500_000, 3_000_000),
    KycTier.enhanced: (5_000_000, 1_000_000, 5_000_000, 50_000_000),
}


def default_limit_table(currency_codes: Iterable[str] = ("KES",)) -> LimitTable:
    """The default limits for each of `currency_codes` (KES, or any currency of
    `tariffs.kes_exchange_rates`); `TariffError` for a currency without a default conversion."""
    kes_scale = currency("KES").scale
    entries: list[TierLimits] = []
    for code in currency_codes:
        for tier, whole_kes in _kes_tier_limits.items():
            scaled = [
                scale_from_kes(amount * kes_scale, code, ScaleRounding.down) for amount in whole_kes
            ]
            entries.append(TierLimits(code, tier, *scaled))
    table = LimitTable(tuple(entries))
    invariant(len(table.entries) == len(entries), "every default entry is kept")
    return table
