"""Tariffs: what a customer pays, what an agent earns and what a merchant or biller gives up.

A `Tariff` prices each transaction type with banded `FeeRule`s: an amount falls in at most one
band, and an amount in no band means the type is not offered for that amount (a refusal, not an
error). Tariffs are versioned and effective-dated in a `TariffSchedule`, so a quote at any time
uses the version in force then and names it, and a dispute can be replayed exactly.

All amounts are integers in minor units of the tariff's currency. Percentages are in basis
points and rounded half-up with integer arithmetic, never through floats.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from hazina.kernel.invariant import InvariantViolationError, invariant
from hazina.kernel.limits import (
    ledger_amount_max,
    tariff_bands_max,
    tariff_basis_points_max,
    tariff_versions_max,
)
from hazina.kernel.money import CurrencyError, Money, currency

basis_points_per_whole = 10_000


class TransactionType(StrEnum):
    cash_in = "cash_in"
    cash_out = "cash_out"
    p2p = "p2p"
    p2p_voucher = "p2p_voucher"  # to someone without a wallet, who collects it at an agent
    merchant_payment = "merchant_payment"
    bill_payment = "bill_payment"
    bank_transfer_out = "bank_transfer_out"
    bank_transfer_in = "bank_transfer_in"
    reversal = "reversal"


# Who may be priced with what: an agent is paid only for handling cash, a merchant discount
# only applies to merchant payments, a biller commission only to bill payments. A tariff that
# puts them elsewhere is a configuration mistake that would move money nobody expects.
agent_commission_types = frozenset({TransactionType.cash_in, TransactionType.cash_out})


class TariffError(ValueError):
    """A tariff, or a schedule of tariffs, that cannot be used as given."""

    code: ClassVar[str] = "tariff_invalid"


class TariffNotInEffectError(LookupError):
    """No tariff version of a schedule is in effect at the time asked about."""

    code: ClassVar[str] = "tariff_not_in_effect"


class FeeRefusalCode(StrEnum):
    """Why a transaction cannot be priced, in precedence order; both are permanent for the
    tariff version quoted (the same request is refused until a new version is in effect)."""

    transaction_type_not_offered = "transaction_type_not_offered"
    amount_out_of_band = "amount_out_of_band"


def display_amount(amount_minor: int, currency_code: str) -> str:
    """Format minor units for people: "KES 150,000.00" (code first, thousands separated)."""
    money = Money(amount_minor, currency(currency_code))
    return f"{currency_code} {money.to_decimal():,.{money.currency.minor_units}f}"


def basis_points_of(amount_minor: int, basis_points: int) -> int:
    """`amount * basis_points / 10_000`, rounded half-up, exactly, in integers."""
    invariant(amount_minor >= 0, "a percentage is taken of a non-negative amount")
    invariant(0 <= basis_points <= basis_points_per_whole, "basis points are at most the whole")
    # Adding half the divisor before flooring is half-up for non-negative numerators.
    result = (amount_minor * basis_points + basis_points_per_whole // 2) // basis_points_per_whole
    invariant(0 <= result <= amount_minor, "a share of an amount never exceeds the amount")
    return result


def _check_amount(value: object, name: str) -> None:
    if type(value) is not int:
        raise TariffError(f"{name} must be an integer count of minor units, got {value!r}")
    if not 0 <= value <= ledger_amount_max:
        raise TariffError(f"{name} must be between 0 and {ledger_amount_max}, got {value}")


def _check_basis_points(value: object, name: str) -> None:
    if type(value) is not int:
        raise TariffError(f"{name} must be an integer number of basis points, got {value!r}")
    if not 0 <= value <= tariff_basis_points_max:
        raise TariffError(f"{name} must be between 0 and {tariff_basis_points_max}, got {value}")


@dataclass(frozen=True, slots=True)
class FeeRule:
    """One band of a banded tariff: for amounts in [amount_from, amount_to] (inclusive), the fee
    is `flat` plus `percent_basis_points` of the amount, then clamped to [minimum, maximum]."""

    amount_from: int
    amount_to: int
    flat: int = 0
    percent_basis_points: int = 0
    minimum: int = 0
    maximum: int | None = None  # None: no cap

    def __post_init__(self) -> None:
        _check_amount(self.amount_from, "amount_from")
        _check_amount(self.amount_to, "amount_to")
        _check_amount(self.flat, "flat")
        _check_basis_points(self.percent_basis_points, "percent_basis_points")
        _check_amount(self.minimum, "minimum")
        if self.maximum is not None:
            _check_amount(self.maximum, "maximum")
            if self.minimum > self.maximum:
                raise TariffError(
                    f"band [{self.amount_from}, {self.amount_to}]: minimum {self.minimum} "
                    f"exceeds maximum {self.maximum}"
                )
        if self.amount_from > self.amount_to:
            raise TariffError(
                f"band amount_from {self.amount_from} exceeds amount_to {self.amount_to}"
            )
        # The fee only grows with the amount, so its largest value is at the top of the band;
        # checking it here means no quote can ever produce an amount the ledger cannot hold.
        if self._fee_unchecked(self.amount_to) > ledger_amount_max:
            raise TariffError(
                f"band [{self.amount_from}, {self.amount_to}]: the fee can exceed the largest "
                f"ledger amount {ledger_amount_max}"
            )

    def covers(self, amount_minor: int) -> bool:
        return self.amount_from <= amount_minor <= self.amount_to

    def fee_for(self, amount_minor: int) -> int:
        """The fee for an amount in this band, in minor units."""
        invariant(self.covers(amount_minor), "a band prices only the amounts it covers")
        fee = self._fee_unchecked(amount_minor)
        invariant(fee >= self.minimum, "the fee is at least the band's minimum")
        invariant(self.maximum is None or fee <= self.maximum, "the fee is at most the maximum")
        return fee

    def _fee_unchecked(self, amount_minor: int) -> int:
        fee = self.flat + basis_points_of(amount_minor, self.percent_basis_points)
        fee = max(fee, self.minimum)
        if self.maximum is not None:
            fee = min(fee, self.maximum)
        return fee


def _check_bands(rules: Sequence[FeeRule], name: str) -> None:
    if len(rules) > tariff_bands_max:
        raise TariffError(f"{name}: {len(rules)} bands, more than {tariff_bands_max}")
    for rule in rules:
        if not isinstance(rule, FeeRule):
            raise TariffError(f"{name}: every band must be a FeeRule, got {rule!r}")
    for previous, following in itertools.pairwise(rules):
        if following.amount_from <= previous.amount_to:
            problem = "overlap" if following.amount_to >= previous.amount_from else "are unsorted"
            raise TariffError(
                f"{name}: bands [{previous.amount_from}, {previous.amount_to}] and "
                f"[{following.amount_from}, {following.amount_to}] {problem}"
            )


def _covered_runs(rules: Sequence[FeeRule]) -> list[tuple[int, int]]:
    """Merge sorted, disjoint bands into maximal runs of consecutive amounts."""
    runs: list[tuple[int, int]] = []
    for rule in rules:
        if runs and runs[-1][1] + 1 == rule.amount_from:
            runs[-1] = (runs[-1][0], rule.amount_to)
        else:
            runs.append((rule.amount_from, rule.amount_to))
    return runs


def _find_band(rules: Sequence[FeeRule], amount_minor: int) -> FeeRule | None:
    index = bisect.bisect_right(rules, amount_minor, key=lambda rule: rule.amount_from) - 1
    if index >= 0 and rules[index].covers(amount_minor):
        return rules[index]
    return None


@dataclass(frozen=True, slots=True)
class TransactionTariff:
    """How one transaction type is priced.

    `agent_commission_rules` (cash-in and cash-out only) is what the operator pays the agent who
    handled the cash; when given it must cover every amount the customer fee bands cover, so an
    offered transaction always has a defined commission. `merchant_discount_basis_points`
    (merchant payments only) is deducted from what the merchant receives.
    `biller_commission_basis_points` (bill payments only) is what the biller pays the operator
    for collecting, deducted from what the biller is credited; None when the biller pays nothing.
    """

    transaction_type: TransactionType
    customer_fee_rules: tuple[FeeRule, ...]
    agent_commission_rules: tuple[FeeRule, ...] = ()
    merchant_discount_basis_points: int = 0
    biller_commission_basis_points: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.transaction_type, TransactionType):
            raise TariffError(f"unknown transaction type {self.transaction_type!r}")
        name = self.transaction_type.value
        # Accept any sequence but keep a tuple, so the record stays immutable and hashable.
        object.__setattr__(self, "customer_fee_rules", tuple(self.customer_fee_rules))
        object.__setattr__(self, "agent_commission_rules", tuple(self.agent_commission_rules))
        _check_bands(self.customer_fee_rules, f"{name} customer fee")
        _check_bands(self.agent_commission_rules, f"{name} agent commission")
        _check_basis_points(self.merchant_discount_basis_points, f"{name} merchant discount")
        if self.biller_commission_basis_points is not None:
            _check_basis_points(self.biller_commission_basis_points, f"{name} biller commission")
        if self.agent_commission_rules:
            if self.transaction_type not in agent_commission_types:
                raise TariffError(f"{name}: agents are paid commission on cash-in/out only")
            commission_runs = _covered_runs(self.agent_commission_rules)
            for low, high in _covered_runs(self.customer_fee_rules):
                if not any(lo <= low and high <= hi for lo, hi in commission_runs):
                    raise TariffError(
                        f"{name}: agent commission bands do not cover amounts {low} to {high}"
                    )
        if (
            self.merchant_discount_basis_points
            and self.transaction_type is not TransactionType.merchant_payment
        ):
            raise TariffError(f"{name}: a merchant discount applies to merchant payments only")
        if (
            self.biller_commission_basis_points is not None
            and self.transaction_type is not TransactionType.bill_payment
        ):
            raise TariffError(f"{name}: a biller commission applies to bill payments only")

    def offered_runs(self) -> list[tuple[int, int]]:
        """The amounts this type is offered for, as inclusive (low, high) runs in minor units."""
        return _covered_runs(self.customer_fee_rules)


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """The price of one transaction under one tariff version; every amount in minor units."""

    tariff_version: int
    customer_fee: int  # paid by the customer on top of the amount
    agent_commission: int  # paid by the operator to the agent
    merchant_discount: int  # withheld from the merchant's proceeds
    biller_commission: int  # withheld from the biller's proceeds


@dataclass(frozen=True, slots=True)
class FeeRefusal:
    code: FeeRefusalCode
    reason: str


@dataclass(frozen=True, slots=True)
class Tariff:
    """One version of an operator's prices for one currency, in force from `effective_from_ns`
    (nanoseconds since the Unix epoch, UTC) until the next version takes over."""

    version: int
    effective_from_ns: int
    currency: str
    transactions: tuple[TransactionTariff, ...]

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version < 1:
            raise TariffError(f"version must be a positive integer, got {self.version!r}")
        if type(self.effective_from_ns) is not int or self.effective_from_ns < 0:
            raise TariffError(
                f"effective_from_ns must be a non-negative integer, got {self.effective_from_ns!r}"
            )
        try:
            currency(self.currency)
        except CurrencyError as error:
            raise TariffError(f"tariff currency: {error}") from None
        object.__setattr__(self, "transactions", tuple(self.transactions))
        seen: set[TransactionType] = set()
        for entry in self.transactions:
            if not isinstance(entry, TransactionTariff):
                raise TariffError(f"every entry must be a TransactionTariff, got {entry!r}")
            if entry.transaction_type in seen:
                raise TariffError(f"{entry.transaction_type.value} is priced twice")
            seen.add(entry.transaction_type)

    def for_type(self, transaction_type: TransactionType) -> TransactionTariff | None:
        for entry in self.transactions:
            if entry.transaction_type == transaction_type:
                return entry
        return None

    def quote(self, transaction_type: TransactionType, amount_minor: int) -> FeeQuote | FeeRefusal:
        """Price `amount_minor` of `transaction_type`, or say why this version does not offer it."""
        invariant(type(amount_minor) is int, "amounts are integer minor units")
        transaction_type = TransactionType(transaction_type)
        entry = self.for_type(transaction_type)
        if entry is None or not entry.customer_fee_rules:
            return FeeRefusal(
                FeeRefusalCode.transaction_type_not_offered,
                f"{transaction_type.value} is not offered under tariff version {self.version}",
            )
        fee_rule = _find_band(entry.customer_fee_rules, amount_minor)
        if fee_rule is None:
            offered = ", ".join(
                f"{display_amount(low, self.currency)} to {display_amount(high, self.currency)}"
                for low, high in entry.offered_runs()
            )
            return FeeRefusal(
                FeeRefusalCode.amount_out_of_band,
                f"{transaction_type.value} of {self._display_any(amount_minor)} is not offered "
                f"under tariff version {self.version}: it is offered for {offered}",
            )
        agent_commission = 0
        if entry.agent_commission_rules:
            commission_rule = _find_band(entry.agent_commission_rules, amount_minor)
            if commission_rule is None:
                raise InvariantViolationError("validation ensures commission bands cover fees")
            agent_commission = commission_rule.fee_for(amount_minor)
        biller_basis_points = entry.biller_commission_basis_points or 0
        quote = FeeQuote(
            tariff_version=self.version,
            customer_fee=fee_rule.fee_for(amount_minor),
            agent_commission=agent_commission,
            merchant_discount=basis_points_of(amount_minor, entry.merchant_discount_basis_points),
            biller_commission=basis_points_of(amount_minor, biller_basis_points),
        )
        invariant(quote.merchant_discount <= amount_minor, "a discount never exceeds the amount")
        invariant(quote.biller_commission <= amount_minor, "a commission never exceeds the amount")
        return quote

    def _display_any(self, amount_minor: int) -> str:
        # A refused amount may be out of the range Money accepts; show it raw rather than fail.
        if abs(amount_minor) <= ledger_amount_max:
            return display_amount(amount_minor, self.currency)
        return f"{amount_minor} minor units of {self.currency}"


@dataclass(frozen=True, slots=True)
class TariffSchedule:
    """The versions of one currency's tariff, oldest first; versions and effective times both
    rise strictly, so every instant has at most one tariff in force and history is never
    rewritten: a correction is a new version."""

    currency: str
    tariffs: tuple[Tariff, ...] = ()

    def __post_init__(self) -> None:
        try:
            currency(self.currency)
        except CurrencyError as error:
            raise TariffError(f"schedule currency: {error}") from None
        object.__setattr__(self, "tariffs", tuple(self.tariffs))
        if len(self.tariffs) > tariff_versions_max:
            raise TariffError(f"{len(self.tariffs)} versions, more than {tariff_versions_max}")
        for tariff in self.tariffs:
            if not isinstance(tariff, Tariff):
                raise TariffError(f"every version must be a Tariff, got {tariff!r}")
            if tariff.currency != self.currency:
                raise TariffError(
                    f"tariff version {tariff.version} is in {tariff.currency}, "
                    f"the schedule in {self.currency}"
                )
        for previous, following in itertools.pairwise(self.tariffs):
            if following.version <= previous.version:
                raise TariffError(
                    f"versions must rise strictly: {following.version} after {previous.version}"
                )
            if following.effective_from_ns <= previous.effective_from_ns:
                raise TariffError(
                    f"effective times must rise strictly: version {following.version} from "
                    f"{following.effective_from_ns} after version {previous.version} from "
                    f"{previous.effective_from_ns}"
                )

    def add(self, tariff: Tariff) -> TariffSchedule:
        """A new schedule with `tariff` as its latest version; this one is unchanged."""
        schedule = TariffSchedule(self.currency, (*self.tariffs, tariff))
        invariant(schedule.tariffs[-1] is tariff, "the added tariff is the latest version")
        return schedule

    def tariff_at(self, at_ns: int) -> Tariff:
        """The version in force at `at_ns`: the latest effective at or before it."""
        index = bisect.bisect_right(self.tariffs, at_ns, key=lambda t: t.effective_from_ns) - 1
        if index < 0:
            first = (
                f"; the first version takes effect at {self.tariffs[0].effective_from_ns}"
                if self.tariffs
                else "; the schedule is empty"
            )
            raise TariffNotInEffectError(
                f"no {self.currency} tariff is in effect at {at_ns}{first}"
            )
        tariff = self.tariffs[index]
        invariant(tariff.effective_from_ns <= at_ns, "a tariff is never used before its time")
        return tariff

    def quote(
        self, transaction_type: TransactionType, amount_minor: int, at_ns: int
    ) -> FeeQuote | FeeRefusal:
        """Price a transaction with the version in force at `at_ns`; `TariffNotInEffectError`
        when none is (a configuration gap for the operator, not a refusal for the customer)."""
        return self.tariff_at(at_ns).quote(transaction_type, amount_minor)


# Default tariff.
#
# One table in Kenyan shillings, modelled on the shape of public banded mobile-money tariffs in
# Kenya (2023): P2P free up to KES 100 and capped above KES 20,000, cash-out banded with a KES 50
# minimum, cash-in free to the customer with the agent paid by the operator, a 0.5% merchant
# discount, a flat bank-transfer fee, and KES 250,000 as the largest single transaction. It is
# a starting point, not any operator's price list.
#
# Other currencies reuse the KES table through a round-number approximation of the 2024
# exchange rate (target major units per KES), applied in minor units so currencies with no or
# three minor digits come out right. Band tops round down and each band starts one minor unit
# above the previous top, so bands stay contiguous and disjoint after scaling (a band that
# shrinks to nothing is dropped); the lowest amount rounds up and fees round half-up.
# Operators are expected to set their own tables; these make demos and simulations plausible.


class ScaleRounding(StrEnum):
    down = "down"
    up = "up"
    half_up = "half_up"


# Target major units per one KES, as an exact (numerator, denominator).
kes_exchange_rates: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "KES": (1, 1),
        "NGN": (12, 1),
        "UGX": (30, 1),
        "TZS": (20, 1),
        "IDR": (120, 1),
        "PHP": (2, 5),
        "BRL": (1, 25),
        "USD": (1, 125),
    }
)


def scale_from_kes(kes_minor: int, currency_code: str, rounding: ScaleRounding) -> int:
    """Convert a KES amount in cents to `currency_code` minor units, exactly, then round."""
    invariant(kes_minor >= 0, "only non-negative amounts are scaled")
    if currency_code not in kes_exchange_rates:
        raise TariffError(
            f"no default conversion for {currency_code!r}: give its tariff and limits explicitly"
        )
    numerator, denominator = kes_exchange_rates[currency_code]
    kes_scale = currency("KES").scale
    numerator *= currency(currency_code).scale
    denominator *= kes_scale
    product = kes_minor * numerator
    if rounding is ScaleRounding.down:
        result = product // denominator
    elif rounding is ScaleRounding.up:
        result = -(-product // denominator)
    else:
        result = (2 * product + denominator) // (2 * denominator)
    invariant(result >= 0, "scaling keeps amounts non-negative")
    return result


# (lowest amount, ((band top, flat fee), ...)) in whole KES; each band starts one cent above the
# previous band's top.
_KesTable = tuple[int, tuple[tuple[int, int], ...]]

_kes_p2p: _KesTable = (
    1,
    (
        (100, 0),
        (500, 7),
        (1_000, 13),
        (1_500, 23),
        (2_500, 33),
        (3_500, 53),
        (5_000, 57),
        (7_500, 78),
        (10_000, 90),
        (15_000, 100),
        (20_000, 105),
        (250_000, 108),
    ),
)
# Sending to someone without a wallet costs more: the recipient collects the cash at an agent
# for free, so the sender pays for the agent's work up front; capped lower.
_kes_p2p_voucher: _KesTable = (
    101,
    (
        (500, 49),
        (1_000, 59),
        (1_500, 73),
        (2_500, 81),
        (3_500, 107),
        (5_000, 124),
        (7_500, 156),
        (10_000, 186),
        (15_000, 230),
        (20_000, 245),
        (35_000, 275),
    ),
)
_kes_cash_out_bands = (100, 2_500, 3_500, 5_000, 7_500, 10_000, 15_000, 20_000, 35_000, 50_000)
_kes_cash_out: _KesTable = (
    50,
    tuple(
        zip(
            (*_kes_cash_out_bands, 250_000),
            (11, 29, 52, 69, 87, 115, 167, 185, 197, 278, 309),
            strict=True,
        )
    ),
)
# The agent keeps about 70% of the cash-out fee; the operator keeps the rest.
_kes_cash_out_commission: _KesTable = (
    50,
    tuple(
        zip(
            (*_kes_cash_out_bands, 250_000),
            (8, 20, 37, 48, 61, 80, 117, 130, 138, 195, 216),
            strict=True,
        )
    ),
)
_kes_cash_in: _KesTable = (10, ((250_000, 0),))
# Deposits are free to the customer, so the operator pays the agent for taking the cash.
_kes_cash_in_commission: _KesTable = (
    10,
    ((100, 1), (2_500, 5), (5_000, 10), (10_000, 20), (20_000, 30), (50_000, 45), (250_000, 60)),
)
_kes_merchant_payment: _KesTable = (1, ((250_000, 0),))
_kes_bill_payment: _KesTable = (
    1,
    (
        (100, 0),
        (500, 5),
        (1_000, 10),
        (1_500, 15),
        (2_500, 20),
        (3_500, 25),
        (5_000, 34),
        (7_500, 42),
        (10_000, 48),
        (15_000, 57),
        (20_000, 62),
        (35_000, 67),
        (50_000, 72),
        (250_000, 77),
    ),
)
_kes_bank_transfer_out: _KesTable = (100, ((250_000, 50),))
_kes_bank_transfer_in: _KesTable = (10, ((250_000, 0),))
_kes_reversal: _KesTable = (1, ((250_000, 0),))
_kes_merchant_discount_basis_points = 50


def _scaled_rules(table: _KesTable, currency_code: str) -> tuple[FeeRule, ...]:
    lowest, bands = table
    kes_scale = currency("KES").scale
    rules: list[FeeRule] = []
    # Band tops are round numbers, so scale them (down: never past the KES top) and start each
    # band one unit above the previous top: the bands stay contiguous and disjoint.
    scaled_from = scale_from_kes(lowest * kes_scale, currency_code, ScaleRounding.up)
    for top, flat in bands:
        scaled_to = scale_from_kes(top * kes_scale, currency_code, ScaleRounding.down)
        if scaled_from <= scaled_to:
            rules.append(
                FeeRule(
                    amount_from=scaled_from,
                    amount_to=scaled_to,
                    flat=scale_from_kes(flat * kes_scale, currency_code, ScaleRounding.half_up),
                )
            )
            scaled_from = scaled_to + 1
    invariant(len(rules) > 0, "a scaled table keeps at least one band")
    return tuple(rules)


def default_tariff(currency_code: str, effective_from_ns: int, version: int = 1) -> Tariff:
    """The default tariff (see the notes above) in `currency_code`; `TariffError` for a
    currency without a default conversion."""

    def priced(
        transaction_type: TransactionType,
        fees: _KesTable,
        commissions: _KesTable | None = None,
        merchant_discount_basis_points: int = 0,
    ) -> TransactionTariff:
        return TransactionTariff(
            transaction_type,
            _scaled_rules(fees, currency_code),
            agent_commission_rules=(
                _scaled_rules(commissions, currency_code) if commissions else ()
            ),
            merchant_discount_basis_points=merchant_discount_basis_points,
        )

    tariff = Tariff(
        version=version,
        effective_from_ns=effective_from_ns,
        currency=currency_code,
        transactions=(
            priced(TransactionType.cash_in, _kes_cash_in, _kes_cash_in_commission),
            priced(TransactionType.cash_out, _kes_cash_out, _kes_cash_out_commission),
            priced(TransactionType.p2p, _kes_p2p),
            priced(TransactionType.p2p_voucher, _kes_p2p_voucher),
            priced(
                TransactionType.merchant_payment,
                _kes_merchant_payment,
                merchant_discount_basis_points=_kes_merchant_discount_basis_points,
            ),
            priced(TransactionType.bill_payment, _kes_bill_payment),
            priced(TransactionType.bank_transfer_out, _kes_bank_transfer_out),
            priced(TransactionType.bank_transfer_in, _kes_bank_transfer_in),
            priced(TransactionType.reversal, _kes_reversal),
        ),
    )
    invariant(len(tariff.transactions) == len(TransactionType), "the default prices every type")
    return tariff
