"""What the CBDC service returns: frozen records, amounts in integer minor units."""

from __future__ import annotations

from dataclasses import dataclass

from hazina.cbdc.domain.chart import ParticipantKind, Tier
from hazina.cbdc.offline import Note


@dataclass(frozen=True, slots=True)
class Participant:
    """A bank or operator that holds CBDC from the central bank and distributes it."""

    id: int
    code: str
    name: str
    kind: ParticipantKind
    holding_account: int  # CBDC ledger
    reserve_account: int  # fiat ledger
    conversion_account: int  # fiat ledger
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class ParticipantView:
    participant: Participant
    holding: int  # CBDC it holds itself
    reserves: int  # fiat reserves at the central bank
    conversion: int  # net e-money taken in by conversions


@dataclass(frozen=True, slots=True)
class CbdcWallet:
    id: int  # also its ledger account id
    participant_id: int  # the distributing participant, and where the waterfall sweeps to
    holder: str
    tier: Tier
    linked_account: str | None  # the holder's account at the participant; None: no waterfall
    emoney_wallet_id: int | None  # the holder's e-money wallet, for conversions
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class WalletView:
    wallet: CbdcWallet
    balance: int
    held: int  # reserved by conditional payments not yet released
    holding_max: int


@dataclass(frozen=True, slots=True)
class Operation:
    """One money movement in CBDC: what it was, between whom, and what was swept on."""

    id: int
    kind: str
    participant_id: int | None
    from_wallet: int | None
    to_wallet: int | None
    amount: int
    swept: int
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class ConditionalPayment:
    id: int  # the ledger's pending transfer id
    from_wallet: int
    to_wallet: int
    amount: int
    release_at_ns: int  # 0: no time condition
    confirmer: str | None  # who must confirm, as `kind:name`; None: no confirmation needed
    confirmed: bool
    expires_at_ns: int
    status: str  # pending, released, cancelled, expired
    created_by: str
    created_at_ns: int
    decided_at_ns: int | None
    swept: int


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    wallet_id: int
    public_key: bytes
    status: str  # active or revoked
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class Load:
    operation: Operation
    device_id: int
    notes: tuple[Note, ...]


@dataclass(frozen=True, slots=True)
class NoteOutcome:
    """What a sync did with one note: `redeemed`, `recovered` (a double spend paid from the
    offender's balance, `flagged` the part it could not), or a refusal code."""

    token_id: int
    status: str
    amount: int  # credited to the syncing device's wallet
    offender: bytes | None = None
    flagged: int = 0


@dataclass(frozen=True, slots=True)
class Sync:
    device_id: int
    credited: int
    swept: int
    outcomes: tuple[NoteOutcome, ...]


@dataclass(frozen=True, slots=True)
class Circulation:
    label: str
    amount: int


@dataclass(frozen=True, slots=True)
class Overview:
    """The central bank's view of its currency."""

    issued: int
    redeemed: int
    circulation: int
    by_tier: tuple[Circulation, ...]  # wallets per tier, participants' own, offline
    by_participant: tuple[Circulation, ...]  # each participant: its own plus its wallets'
    held_in_escrow: int
    payments_value: int  # wallet-to-wallet value over the velocity window
    velocity_window_s: int
    velocity_bps: int  # payments value / circulation over the window, basis points
    reserves: int
    backing: int

    @property
    def velocity(self) -> str:
        """Velocity as a decimal string with four places, computed in integers."""
        return f"{self.velocity_bps // 10_000}.{self.velocity_bps % 10_000:04d}"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    issued: int
    redeemed: int
    circulation: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)
