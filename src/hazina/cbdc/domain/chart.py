"""The CBDC chart of accounts, its ledgers, wallet tiers and the asset's configuration.

The CBDC is its own asset on its own ledger (default 1404, "eKES", two decimals like the KES
it is denominated in). Every CBDC account lives there:

- `issuance` (500, debit-normal): the central bank's side of every unit issued. Minting debits
  it, redeeming credits it, so its balance (debits less credits) is the CBDC in circulation.
- `participant_holding` (510): a participating bank's or operator's CBDC (tier one).
- `wallet` (520): a customer's CBDC wallet (tier two), never overdrawn, with balance history.
- `offline_outstanding` (530): value loaded to devices as signed tokens and not yet redeemed.

Minting is "against reserves": the bank's reserve account at the central bank, on the fiat
ledger (the ISO 4217 numeric code of `fiat`, shared with payments but with codes of its own),
pays the central bank's `backing` account in the same linked chain. So the fiat `backing`
balance always equals the CBDC in circulation (full backing), which the audit checks.

- `reserve_source` (600, debit-normal): the central bank's other side of reserves deposited
  (RTGS settlement in).
- `backing` (605): fiat the central bank holds against CBDC in circulation.
- `participant_reserve` (610): a participant's reserve at the central bank, never overdrawn.
- `participant_conversion` (620): a participant's net e-money position from conversions
  between customers' e-money wallets and CBDC (settled with the e-money operator outside,
  like payments' bank settlement accounts, so it may go either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    cbdc_anonymous_holding_max_minor_units,
    cbdc_full_kyc_holding_max_minor_units,
    cbdc_offline_balance_max_minor_units,
    ledger_ledger_max,
)
from hazina.ledger.domain.flags import AccountFlags


class CbdcAccountCode(IntEnum):
    issuance = 500
    participant_holding = 510
    wallet = 520
    offline_outstanding = 530
    reserve_source = 600
    backing = 605
    participant_reserve = 610
    participant_conversion = 620


class CbdcTransferCode(IntEnum):
    """What a CBDC movement is (the transfer's `code`)."""

    reserve_deposit = 50
    mint = 51
    mint_backing = 52
    redeem = 53
    redeem_backing = 54
    distribute = 55
    deposit = 56
    payment = 57
    sweep = 58
    conversion_in = 59  # e-money -> CBDC
    conversion_out = 60  # CBDC -> e-money
    conversion_fiat = 61
    escrow = 62
    offline_load = 63
    offline_redeem = 64
    offline_recovery = 65


class Tier(StrEnum):
    """Wallet tiers: what the holder proved decides how much the wallet may hold."""

    anonymous = "anonymous"  # no identity checked: low value, like cash
    full_kyc = "full_kyc"  # identity verified by the distributing participant


class ParticipantKind(StrEnum):
    bank = "bank"
    operator = "operator"  # a mobile-money operator distributing CBDC


_never_overdrawn = int(AccountFlags.debits_must_not_exceed_credits)
_debit_normal = int(AccountFlags.credits_must_not_exceed_debits)

ACCOUNT_FLAGS: dict[CbdcAccountCode, int] = {
    CbdcAccountCode.issuance: _debit_normal,
    CbdcAccountCode.participant_holding: _never_overdrawn | int(AccountFlags.history),
    CbdcAccountCode.wallet: _never_overdrawn | int(AccountFlags.history),
    CbdcAccountCode.offline_outstanding: _never_overdrawn,
    CbdcAccountCode.reserve_source: _debit_normal,
    CbdcAccountCode.backing: _never_overdrawn,
    CbdcAccountCode.participant_reserve: _never_overdrawn | int(AccountFlags.history),
    CbdcAccountCode.participant_conversion: 0,
}

FIAT_CODES = frozenset(
    {
        CbdcAccountCode.reserve_source,
        CbdcAccountCode.backing,
        CbdcAccountCode.participant_reserve,
        CbdcAccountCode.participant_conversion,
    }
)


@dataclass(frozen=True, slots=True)
class CbdcConfig:
    """The asset: its code, its ledger, the fiat it is denominated in, and its limits.

    Amounts are integers in the fiat's minor units (one eKES cent is one KES cent)."""

    code: str = "eKES"
    ledger: int = 1404
    fiat: str = "KES"
    anonymous_holding_max: int = cbdc_anonymous_holding_max_minor_units
    full_kyc_holding_max: int = cbdc_full_kyc_holding_max_minor_units
    offline_balance_max: int = cbdc_offline_balance_max_minor_units

    def __post_init__(self) -> None:
        invariant(0 < self.ledger <= ledger_ledger_max, "the CBDC ledger number fits")
        invariant(0 < self.anonymous_holding_max <= self.full_kyc_holding_max, "tiers rise")
        invariant(self.offline_balance_max > 0, "devices may hold something offline")

    def holding_max(self, tier: Tier) -> int:
        return self.anonymous_holding_max if tier is Tier.anonymous else self.full_kyc_holding_max


def balance_of(debits_posted: int, credits_posted: int, code: CbdcAccountCode) -> int:
    """An account's posted balance in its normal direction."""
    if code in (CbdcAccountCode.issuance, CbdcAccountCode.reserve_source):
        return debits_posted - credits_posted
    return credits_posted - debits_posted
