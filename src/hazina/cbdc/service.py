"""The CBDC service: issuance and redemption, distribution, wallets with holding limits,
conditional payments, offline devices, and the central bank's view and audit.

Each write is one ledger unit of work (`LedgerService.run`): it reads what it needs from the
same transaction, posts one linked chain of ledger transfers (CBDC legs on the CBDC ledger,
fiat legs on the fiat ledger, in one chain when an operation has both), and writes its rows,
an outbox event and the Idempotency-Key with them. So an operation happens whole or not at all.
Refusals are `PaymentError`s with stable codes (the API maps them to problem+json).

Invariants (checked by `audit`, by the property tests and by `hazina cbdc audit`):
- circulation = issued - redeemed = the sum of every CBDC balance outside the issuance account;
- the central bank's fiat backing equals the circulation (minting is against reserves);
- the offline pool equals the value of tokens loaded and not yet redeemed;
- no wallet holds more than its tier allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hazina.cbdc.domain.chart import (
    ACCOUNT_FLAGS,
    FIAT_CODES,
    CbdcAccountCode,
    CbdcConfig,
    CbdcTransferCode,
    ParticipantKind,
    Tier,
    balance_of,
)
from hazina.cbdc.domain.waterfall import split_inflow
from hazina.cbdc.offline import (
    KEY_BYTES,
    Note,
    OfflineError,
    first_divergence,
    issue_token,
    split_into_notes,
    verify_note,
)
from hazina.cbdc.records import (
    AuditReport,
    CbdcWallet,
    Check,
    Circulation,
    ConditionalPayment,
    Device,
    Load,
    NoteOutcome,
    Operation,
    Overview,
    Participant,
    ParticipantView,
    Sync,
    WalletView,
)
from hazina.cbdc.schema import SCHEMA
from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    cbdc_escrow_expiry_max_s,
    cbdc_offline_sync_tokens_max,
    cbdc_offline_token_lifetime_s,
    cbdc_offline_tokens_per_load_max,
    cbdc_page_max,
    cbdc_release_batch_max,
    cbdc_scan_page_max,
    cbdc_velocity_window_s,
    ledger_amount_max,
)
from hazina.ledger.domain.flags import TransferFlags
from hazina.ledger.domain.model import (
    Account,
    AccountRequest,
    PendingState,
    QueryFilter,
    TransferRequest,
    chain_failure,
)
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession
from hazina.payments.domain.chart import ledger_of
from hazina.payments.errors import PaymentError, conflict, invalid, not_found, refused
from hazina.payments.service import (
    IdempotencyRequest,
    PaymentsService,
    check_idempotency,
    store_idempotency,
    write_outbox,
)

_KEYS = "cbdc_idempotency_keys"
_seconds_ns = 1_000_000_000
# Note values a load is split into, in minor units (largest first; 1 makes any amount).
DENOMINATIONS = (
    100_000,
    50_000,
    20_000,
    10_000,
    5_000,
    2_000,
    1_000,
    500,
    200,
    100,
    50,
    20,
    10,
    5,
    2,
    1,
)
_SYSTEM = (
    CbdcAccountCode.issuance,
    CbdcAccountCode.offline_outstanding,
    CbdcAccountCode.reserve_source,
    CbdcAccountCode.backing,
)
_PAYMENT_KINDS = ("payment", "escrow_release", "offline_redeem")

_PARTICIPANT_COLUMNS = (
    "id, code, name, kind, holding_account, reserve_account, conversion_account, created_at_ns"
)
_WALLET_COLUMNS = (
    "id, participant_id, holder, tier, linked_account, emoney_wallet_id, created_at_ns"
)
_CONDITIONAL_COLUMNS = (
    "id, from_wallet, to_wallet, amount, release_at_ns, confirmer, confirmed, expires_at_ns,"
    " status, created_by, created_at_ns, decided_at_ns, swept"
)


@dataclass(frozen=True, slots=True)
class _Leg:
    debit: int
    credit: int
    amount: int
    ledger: int
    code: CbdcTransferCode
    flags: int = 0
    pending_id: int = 0
    timeout_s: int = 0
    reference: int = 0  # user_data_64: the wallet or operation the leg belongs to


class CbdcService:
    """The CBDC, over the ledger, beside payments (whose e-money wallets convert to it)."""

    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        payments: PaymentsService,
        config: CbdcConfig | None = None,
        issuer_key: Ed25519PrivateKey | None = None,
    ) -> None:
        """`payments`: the e-money side (conversions; its outbox carries CBDC events too).
        `issuer_key`: the key that signs offline tokens. Without one the service uses the
        key stored in the database, generating it on first use (keep it in an HSM in
        production: see docs/cbdc.md)."""
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._payments = payments
        self.config = config or CbdcConfig()
        self.fiat_ledger = ledger_of(self.config.fiat)
        invariant(self.fiat_ledger != self.config.ledger, "the CBDC has a ledger of its own")
        self._given_key = issuer_key
        self._issuer: Ed25519PrivateKey | None = None
        self._system: dict[CbdcAccountCode, int] = {}
        ledger.store.ensure_schema("cbdc", SCHEMA)

    # -- setup ---------------------------------------------------------------------------------

    def _accounts(self) -> dict[CbdcAccountCode, int]:
        """The central bank's own accounts (created on first use)."""
        if len(self._system) == len(_SYSTEM):
            return self._system

        def work(unit: LedgerUnit) -> dict[CbdcAccountCode, int]:
            found = {
                CbdcAccountCode[kind]: int(account_id)
                for kind, account_id in unit.sql.fetch_all(
                    "SELECT kind, account_id FROM cbdc_system_accounts"
                )
            }
            for code in _SYSTEM:
                if code in found:
                    continue
                account_id = self._ids.next_id()
                self._create_account(unit, account_id, code)
                unit.sql.execute(
                    "INSERT INTO cbdc_system_accounts (kind, account_id) VALUES (?, ?)",
                    (code.name, account_id),
                )
                found[code] = account_id
            return found

        self._system = self._ledger.run(work)
        invariant(set(self._system) == set(_SYSTEM), "every central bank account exists")
        return self._system

    def _create_account(
        self, unit: LedgerUnit, account_id: int, code: CbdcAccountCode, reference: int = 0
    ) -> None:
        ledger = self.fiat_ledger if code in FIAT_CODES else self.config.ledger
        results = unit.create_accounts(
            [
                AccountRequest(
                    account_id, ledger, int(code), ACCOUNT_FLAGS[code], user_data_64=reference
                )
            ]
        )
        invariant(results == [], "a fresh account id is always accepted")

    def issuer_key(self) -> Ed25519PrivateKey:
        """The key that signs offline tokens (stored once; the given one if none is)."""
        if self._issuer is not None:
            return self._issuer
        candidate = self._given_key or Ed25519PrivateKey.generate()

        def work(unit: LedgerUnit) -> str:
            row = unit.sql.fetch_one("SELECT private_key FROM cbdc_issuer_keys WHERE id = 1")
            if row is not None:
                return str(row[0])
            private = candidate.private_bytes_raw().hex()
            unit.sql.execute(
                "INSERT INTO cbdc_issuer_keys (id, private_key, public_key) VALUES (1, ?, ?)",
                (private, candidate.public_key().public_bytes_raw().hex()),
            )
            return private

        stored = self._ledger.run(work)
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(stored))
        if self._given_key is not None:
            invariant(
                key.private_bytes_raw() == self._given_key.private_bytes_raw(),
                "the issuer key given is the one the database holds",
            )
        self._issuer = key
        return key

    def issuer_public_key(self) -> Ed25519PublicKey:
        return self.issuer_key().public_key()

    # -- participants, reserves, issuance ------------------------------------------------------

    def register_participant(self, code: str, name: str, kind: ParticipantKind) -> Participant:
        """Admit a bank or operator: its CBDC holding, its reserve and conversion accounts."""
        _check_text(code, "participant_code_invalid", 32)
        _check_text(name, "participant_name_invalid", 200)
        self._accounts()
        participant = Participant(
            self._ids.next_id(),
            code,
            name,
            ParticipantKind(kind),
            self._ids.next_id(),
            self._ids.next_id(),
            self._ids.next_id(),
            0,
        )

        def work(unit: LedgerUnit) -> Participant:
            if unit.sql.fetch_one("SELECT 1 FROM cbdc_participants WHERE code = ?", (code,)):
                raise conflict("participant_code_taken", f"a participant already has code {code}")
            for account_id, account_code in (
                (participant.holding_account, CbdcAccountCode.participant_holding),
                (participant.reserve_account, CbdcAccountCode.participant_reserve),
                (participant.conversion_account, CbdcAccountCode.participant_conversion),
            ):
                self._create_account(unit, account_id, account_code, participant.id)
            unit.sql.execute(
                f"INSERT INTO cbdc_participants ({_PARTICIPANT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*_participant_row(participant)[:7], unit.now_ns),
            )
            write_outbox(
                unit, self._ids, "cbdc.participant.registered", str(participant.id), {"code": code}
            )
            return _participant_in(unit.sql, participant.id)

        return self._ledger.run(work)

    def get_participant(self, participant_id: int) -> ParticipantView:
        participant = _participant_in(self._reader(), participant_id)
        accounts = _by_id(
            self._ledger.lookup_accounts(
                [
                    participant.holding_account,
                    participant.reserve_account,
                    participant.conversion_account,
                ]
            )
        )
        return ParticipantView(
            participant,
            _balance(accounts[participant.holding_account]),
            _balance(accounts[participant.reserve_account]),
            _balance(accounts[participant.conversion_account]),
        )

    def list_participants(self, after_id: int = 0, limit: int = cbdc_page_max) -> list[Participant]:
        rows = self._reader().fetch_all(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM cbdc_participants WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after_id, min(limit, cbdc_page_max)),
        )
        return [_participant_from(row) for row in rows]

    def deposit_reserves(
        self, participant_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Operation:
        """Fiat settled into a participant's reserve account at the central bank (RTGS in)."""
        return self._issuance("reserve_deposit", participant_id, amount, idempotency)

    def mint(
        self, participant_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Operation:
        """Issue CBDC to a participant against its reserves: its reserve pays the central
        bank's backing (fiat) and the issuance account credits its holding (CBDC), linked.
        Reserves short: 422 `insufficient_reserves`, nothing issued."""
        return self._issuance("mint", participant_id, amount, idempotency)

    def redeem(
        self, participant_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Operation:
        """Take CBDC back from a participant and return its reserves (the reverse of mint).
        More than it holds: 422 `insufficient_holding`."""
        return self._issuance("redeem", participant_id, amount, idempotency)

    def _issuance(
        self,
        kind: str,
        participant_id: int,
        amount: int,
        idempotency: IdempotencyRequest | None,
    ) -> Operation:
        """The central bank's operations with a participant, each one linked chain."""
        _check_amount(amount)
        system = self._accounts()
        fiat, cbdc = self.fiat_ledger, self.config.ledger
        issuance, backing = system[CbdcAccountCode.issuance], system[CbdcAccountCode.backing]

        def work(unit: LedgerUnit) -> Operation:
            _check_key(unit, idempotency)
            p = _participant_in(unit.sql, participant_id)
            code = CbdcTransferCode
            legs = {
                "reserve_deposit": [
                    _Leg(system[CbdcAccountCode.reserve_source], p.reserve_account, amount,
                         fiat, code.reserve_deposit),
                ],
                "mint": [
                    _Leg(p.reserve_account, backing, amount, fiat, code.mint_backing),
                    _Leg(issuance, p.holding_account, amount, cbdc, code.mint),
                ],
                "redeem": [
                    _Leg(p.holding_account, issuance, amount, cbdc, code.redeem),
                    _Leg(backing, p.reserve_account, amount, fiat, code.redeem_backing),
                ],
            }[kind]  # fmt: skip
            ids = self._post(unit, legs, _participant_refusals(p))
            return self._record(unit, idempotency, kind, ids, amount, participant_id)

        return self._ledger.run(work)

    # -- wallets and distribution --------------------------------------------------------------

    def open_wallet(
        self,
        participant_id: int,
        holder: str,
        tier: Tier,
        linked_account: str | None = None,
        emoney_wallet_id: int | None = None,
    ) -> CbdcWallet:
        """A customer's CBDC wallet, distributed by a participant. `linked_account` (the
        holder's account there) turns on the waterfall; `emoney_wallet_id` allows conversions."""
        _check_text(holder, "holder_invalid", 200)
        if linked_account is not None:
            _check_text(linked_account, "linked_account_invalid", 64)
        tier = Tier(tier)
        if emoney_wallet_id is not None:
            self._check_emoney_wallet(emoney_wallet_id)
        wallet_id = self._ids.next_id()

        def work(unit: LedgerUnit) -> CbdcWallet:
            _participant_in(unit.sql, participant_id)
            if emoney_wallet_id is not None and unit.sql.fetch_one(
                "SELECT 1 FROM cbdc_wallets WHERE emoney_wallet_id = ?", (emoney_wallet_id,)
            ):
                raise conflict(
                    "emoney_wallet_linked", "that e-money wallet is linked to another CBDC wallet"
                )
            self._create_account(unit, wallet_id, CbdcAccountCode.wallet, participant_id)
            unit.sql.execute(
                f"INSERT INTO cbdc_wallets ({_WALLET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    wallet_id,
                    participant_id,
                    holder,
                    tier.value,
                    linked_account,
                    emoney_wallet_id,
                    unit.now_ns,
                ),
            )
            write_outbox(
                unit, self._ids, "cbdc.wallet.opened", str(wallet_id), {"tier": tier.value}
            )
            return _wallet_in(unit.sql, wallet_id)

        return self._ledger.run(work)

    def _check_emoney_wallet(self, wallet_id: int) -> None:
        wallet = self._payments.get_wallet(wallet_id)
        if wallet.currency != self.config.fiat:
            raise invalid(
                "emoney_currency_mismatch",
                f"the e-money wallet holds {wallet.currency}, the CBDC is {self.config.fiat}",
            )
        party = self._payments.get_party(wallet.party_id)
        if party.status != "active":
            raise refused(f"wallet_{party.status}", f"the e-money wallet is {party.status}")

    def get_wallet(self, wallet_id: int) -> WalletView:
        wallet = _wallet_in(self._reader(), wallet_id)
        [account] = self._ledger.lookup_accounts([wallet_id])
        return WalletView(
            wallet, _balance(account), account.debits_pending, self.config.holding_max(wallet.tier)
        )

    def list_wallets(
        self, participant_id: int | None = None, after_id: int = 0, limit: int = cbdc_page_max
    ) -> list[CbdcWallet]:
        where = "id > ?" + ("" if participant_id is None else " AND participant_id = ?")
        parameters: tuple[int, ...] = (
            (after_id,) if participant_id is None else (after_id, participant_id)
        )
        rows = self._reader().fetch_all(
            f"SELECT {_WALLET_COLUMNS} FROM cbdc_wallets WHERE {where} ORDER BY id LIMIT ?",
            (*parameters, min(limit, cbdc_page_max)),
        )
        return [_wallet_from(row) for row in rows]

    def distribute(
        self, wallet_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Operation:
        """The distributing participant pays CBDC into a wallet (the holder draws on a bank
        deposit). Over the holding limit: 422 `holding_limit_exceeded`."""
        return self._with_participant("distribute", wallet_id, amount, idempotency)

    def deposit(
        self, wallet_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Operation:
        """The holder moves CBDC back to their bank (the participant credits the deposit)."""
        return self._with_participant("deposit", wallet_id, amount, idempotency)

    def _with_participant(
        self, kind: str, wallet_id: int, amount: int, idempotency: IdempotencyRequest | None
    ) -> Operation:
        """CBDC between a wallet and its own participant's holding, either way."""
        _check_amount(amount)

        def work(unit: LedgerUnit) -> Operation:
            _check_key(unit, idempotency)
            wallet = _wallet_in(unit.sql, wallet_id)
            participant = _participant_in(unit.sql, wallet.participant_id)
            holding = participant.holding_account
            if kind == "distribute":
                self._refuse_over_limit(unit, wallet, amount)
                debit, credit, code = holding, wallet_id, CbdcTransferCode.distribute
            else:
                debit, credit, code = wallet_id, holding, CbdcTransferCode.deposit
            leg = _Leg(debit, credit, amount, self.config.ledger, code, reference=wallet_id)
            ids = self._post(unit, [leg], _participant_refusals(participant))
            into = kind == "distribute"
            return self._record(
                unit, idempotency, kind, ids, amount, participant.id,
                None if into else wallet_id, wallet_id if into else None,
            )  # fmt: skip

        return self._ledger.run(work)

    def pay(
        self,
        from_wallet: int,
        to_wallet: int,
        amount: int,
        idempotency: IdempotencyRequest | None = None,
    ) -> Operation:
        """Wallet to wallet. What would take the payee over its limit is swept on to its
        linked bank in the same chain (`swept`); with no linked bank: 422
        `holding_limit_exceeded`. Short: 422 `insufficient_funds`."""
        _check_amount(amount)
        if from_wallet == to_wallet:
            raise invalid("self_payment", "a wallet cannot pay itself")

        def work(unit: LedgerUnit) -> Operation:
            _check_key(unit, idempotency)
            _wallet_in(unit.sql, from_wallet)
            payee = _wallet_in(unit.sql, to_wallet)
            first = _Leg(
                from_wallet, to_wallet, amount, self.config.ledger, CbdcTransferCode.payment
            )
            legs, swept = self._waterfall(unit, payee, amount, [first])
            ids = self._post(unit, legs, {})
            return self._record(
                unit, idempotency, "payment", ids, amount, None, from_wallet, to_wallet, swept
            )

        return self._ledger.run(work)

    def convert(
        self,
        wallet_id: int,
        amount: int,
        to_cbdc: bool,
        idempotency: IdempotencyRequest | None = None,
    ) -> Operation:
        """Between the holder's linked e-money wallet and their CBDC wallet, through the
        distributing participant (its CBDC holding and its e-money position), one chain over
        both ledgers. Into CBDC over the holding limit: `holding_limit_exceeded`."""
        _check_amount(amount)
        wallet = _wallet_in(self._reader(), wallet_id)
        if wallet.emoney_wallet_id is None:
            raise invalid(
                "emoney_wallet_not_linked", "the CBDC wallet has no linked e-money wallet"
            )
        self._check_emoney_wallet(wallet.emoney_wallet_id)
        emoney = wallet.emoney_wallet_id

        def work(unit: LedgerUnit) -> Operation:
            _check_key(unit, idempotency)
            participant = _participant_in(unit.sql, wallet.participant_id)
            cbdc = self.config.ledger
            if to_cbdc:
                self._refuse_over_limit(unit, wallet, amount)
                legs = [
                    _Leg(emoney, participant.conversion_account, amount, self.fiat_ledger,
                         CbdcTransferCode.conversion_fiat, reference=wallet_id),
                    _Leg(participant.holding_account, wallet_id, amount, cbdc,
                         CbdcTransferCode.conversion_in, reference=wallet_id),
                ]  # fmt: skip
            else:
                legs = [
                    _Leg(wallet_id, participant.holding_account, amount, cbdc,
                         CbdcTransferCode.conversion_out, reference=wallet_id),
                    _Leg(participant.conversion_account, emoney, amount, self.fiat_ledger,
                         CbdcTransferCode.conversion_fiat, reference=wallet_id),
                ]  # fmt: skip
            ids = self._post(unit, legs, _participant_refusals(participant))
            kind = "conversion_in" if to_cbdc else "conversion_out"
            return self._record(
                unit,
                idempotency,
                kind,
                ids,
                amount,
                participant.id,
                None if to_cbdc else wallet_id,
                wallet_id if to_cbdc else None,
            )

        return self._ledger.run(work)

    # -- conditional payments ------------------------------------------------------------------

    def create_conditional(
        self,
        from_wallet: int,
        to_wallet: int,
        amount: int,
        *,
        release_at_ns: int = 0,
        confirmer: str | None = None,
        expires_in_s: int,
        created_by: str,
        idempotency: IdempotencyRequest | None = None,
    ) -> ConditionalPayment:
        """Hold `amount` in escrow (a pending ledger transfer from the payer) until its
        conditions hold: a time (`release_at_ns`), a confirmation by `confirmer`, or both.
        It expires (and the hold is released to the payer) after `expires_in_s`."""
        _check_amount(amount)
        if from_wallet == to_wallet:
            raise invalid("self_payment", "a wallet cannot pay itself")
        if release_at_ns == 0 and confirmer is None:
            raise invalid("condition_missing", "give a release time, a confirmer, or both")
        if confirmer is not None:
            _check_text(confirmer, "confirmer_invalid", 200)
        if type(expires_in_s) is not int or not 0 < expires_in_s <= cbdc_escrow_expiry_max_s:
            raise invalid(
                "expiry_invalid", f"expires_in_s is 1 to {cbdc_escrow_expiry_max_s} seconds"
            )
        payment_id = self._ids.next_id()

        def work(unit: LedgerUnit) -> ConditionalPayment:
            _check_key(unit, idempotency)
            _wallet_in(unit.sql, from_wallet)
            _wallet_in(unit.sql, to_wallet)
            now = unit.now_ns
            expires_at = now + expires_in_s * _seconds_ns
            if release_at_ns and not now <= release_at_ns < expires_at:
                raise invalid(
                    "release_time_invalid", "the release time must be between now and the expiry"
                )
            leg = _Leg(
                from_wallet,
                to_wallet,
                amount,
                self.config.ledger,
                CbdcTransferCode.escrow,
                flags=int(TransferFlags.pending),
                timeout_s=expires_in_s,
            )
            self._post(unit, [leg], {}, transfer_ids=[payment_id])
            unit.sql.execute(
                f"INSERT INTO cbdc_conditional_payments ({_CONDITIONAL_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'pending', ?, ?, NULL, 0)",
                (payment_id, from_wallet, to_wallet, amount, release_at_ns, confirmer,
                 expires_at, created_by, now),
            )  # fmt: skip
            write_outbox(
                unit, self._ids, "cbdc.conditional.created", str(payment_id), {"amount": amount}
            )
            created = self._conditional_in(unit.sql, payment_id)
            store_idempotency(unit, idempotency, created, _KEYS)
            return created

        return self._ledger.run(work)

    def get_conditional(self, payment_id: int) -> ConditionalPayment:
        return self._conditional_in(self._reader(), payment_id)

    def confirm(self, payment_id: int, actor: str) -> ConditionalPayment:
        """The named confirmer says yes; released now if its time has come (else at it)."""

        def work(unit: LedgerUnit) -> ConditionalPayment:
            payment = self._pending_in(unit, payment_id)
            if payment.confirmer is None:
                raise conflict("confirmation_not_required", "this payment needs no confirmation")
            if actor != payment.confirmer:
                raise refused("not_the_confirmer", f"only {payment.confirmer} may confirm")
            unit.sql.execute(
                "UPDATE cbdc_conditional_payments SET confirmed = 1 WHERE id = ?", (payment_id,)
            )
            if payment.release_at_ns <= unit.now_ns:
                self._release(unit, payment)
            return self._conditional_in(unit.sql, payment_id)

        return self._ledger.run(work)

    def cancel(self, payment_id: int, actor: str) -> ConditionalPayment:
        """Its creator or its confirmer calls it off: the hold is voided back to the payer."""

        def work(unit: LedgerUnit) -> ConditionalPayment:
            payment = self._pending_in(unit, payment_id)
            if actor not in (payment.created_by, payment.confirmer):
                raise refused("not_a_party", "only the creator or the confirmer may cancel")
            leg = _Leg(
                0,
                0,
                0,
                0,
                CbdcTransferCode.escrow,
                flags=int(TransferFlags.void_pending_transfer),
                pending_id=payment_id,
            )
            self._post(unit, [leg], {})
            unit.sql.execute(
                "UPDATE cbdc_conditional_payments SET status = 'cancelled', decided_at_ns = ?"
                " WHERE id = ? AND status = 'pending'",
                (unit.now_ns, payment_id),
            )
            write_outbox(unit, self._ids, "cbdc.conditional.cancelled", str(payment_id), {})
            return self._conditional_in(unit.sql, payment_id)

        return self._ledger.run(work)

    def release_due(self) -> list[ConditionalPayment]:
        """Release every pending payment whose conditions now hold (its time has come and it
        is confirmed if it needs to be). Run it on a schedule; a second run releases nothing."""
        now = self._clock.now_ns()
        rows = self._reader().fetch_all(
            "SELECT id FROM cbdc_conditional_payments WHERE status = 'pending'"
            " AND release_at_ns <= ? AND (confirmer IS NULL OR confirmed = 1)"
            " AND expires_at_ns > ? ORDER BY release_at_ns, id LIMIT ?",
            (now, now, cbdc_release_batch_max),
        )
        released: list[ConditionalPayment] = []
        for (payment_id,) in rows:

            def work(unit: LedgerUnit, payment_id: int = int(payment_id)) -> ConditionalPayment:
                payment = self._pending_in(unit, payment_id)
                self._release(unit, payment)
                return self._conditional_in(unit.sql, payment_id)

            try:
                released.append(self._ledger.run(work))
            except PaymentError:
                continue  # expired or decided meanwhile: nothing to release
        return released

    def _pending_in(self, unit: LedgerUnit, payment_id: int) -> ConditionalPayment:
        payment = self._conditional_in(unit.sql, payment_id)
        if payment.status == "expired":
            raise conflict("conditional_payment_expired", "the payment expired; the payer has it")
        if payment.status != "pending":
            raise conflict("conditional_payment_decided", f"the payment is {payment.status}")
        return payment

    def _release(self, unit: LedgerUnit, payment: ConditionalPayment) -> None:
        payee = _wallet_in(unit.sql, payment.to_wallet)
        post = _Leg(
            payment.from_wallet,
            payment.to_wallet,
            payment.amount,
            self.config.ledger,
            CbdcTransferCode.escrow,
            flags=int(TransferFlags.post_pending_transfer),
            pending_id=payment.id,
        )
        legs, swept = self._waterfall(unit, payee, payment.amount, [post])
        ids = self._post(unit, legs, {})
        unit.sql.execute(
            "UPDATE cbdc_conditional_payments SET status = 'released', decided_at_ns = ?,"
            " swept = ? WHERE id = ? AND status = 'pending'",
            (unit.now_ns, swept, payment.id),
        )
        self._record(
            unit, None, "escrow_release", ids, payment.amount, None,
            payment.from_wallet, payment.to_wallet, swept,
        )  # fmt: skip

    def _conditional_in(self, sql: SqlSession, payment_id: int) -> ConditionalPayment:
        row = _row(sql, f"SELECT {_CONDITIONAL_COLUMNS} FROM cbdc_conditional_payments",
                   payment_id, "conditional_payment_not_found", "conditional payment")  # fmt: skip
        status = str(row[8])
        if status == "pending":
            states = self._ledger.lookup_pending([payment_id])
            expired = any(state.state == PendingState.expired for state in states)
            if expired or int(row[7]) <= self._clock.now_ns():
                status = "expired"
        return ConditionalPayment(
            int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]),
            None if row[5] is None else str(row[5]), bool(row[6]), int(row[7]), status,
            str(row[9]), int(row[10]), None if row[11] is None else int(row[11]), int(row[12]),
        )  # fmt: skip

    # -- offline devices -----------------------------------------------------------------------

    def register_device(self, wallet_id: int, public_key: bytes) -> Device:
        """A device (phone, card) that will hold value offline, by its Ed25519 public key."""
        if len(public_key) != KEY_BYTES:
            raise invalid("public_key_invalid", "an Ed25519 public key is 32 bytes")
        try:
            Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError:
            raise invalid("public_key_invalid", "not an Ed25519 public key") from None
        device_id = self._ids.next_id()

        def work(unit: LedgerUnit) -> Device:
            _wallet_in(unit.sql, wallet_id)
            if unit.sql.fetch_one(
                "SELECT 1 FROM cbdc_devices WHERE public_key = ?", (public_key.hex(),)
            ):
                raise conflict("device_key_taken", "a device with this key is registered")
            unit.sql.execute(
                "INSERT INTO cbdc_devices (id, wallet_id, public_key, status, created_at_ns)"
                " VALUES (?, ?, ?, 'active', ?)",
                (device_id, wallet_id, public_key.hex(), unit.now_ns),
            )
            return _device_in(unit.sql, device_id)

        return self._ledger.run(work)

    def get_device(self, device_id: int) -> Device:
        return _device_in(self._reader(), device_id)

    def offline_outstanding(self, device_id: int) -> int:
        """Value loaded to a device and not yet redeemed by anyone."""
        return _outstanding(self._reader(), device_id)

    def load_device(
        self, device_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Load:
        """Move value from the device's wallet to the offline pool and hand back signed
        tokens for it. The device's offline cap counts what it was loaded and has not been
        redeemed: over it, 422 `offline_cap_exceeded`."""
        _check_amount(amount)
        cap = self.config.offline_balance_max
        if amount > cap:  # checked first: the split below is as long as the amount is large
            raise refused(
                "offline_cap_exceeded", f"a device may hold {cap} offline", limit=cap, outstanding=0
            )
        issuer = self.issuer_key()
        system = self._accounts()
        notes = split_into_notes(amount, DENOMINATIONS)
        if len(notes) > cbdc_offline_tokens_per_load_max:
            raise invalid("too_many_notes", "load a rounder amount")

        def work(unit: LedgerUnit) -> Load:
            _check_key(unit, idempotency)
            device = _device_in(unit.sql, device_id)
            if device.status != "active":
                raise refused("device_revoked", "the device is revoked")
            outstanding = _outstanding(unit.sql, device_id)
            if outstanding + amount > cap:
                raise refused(
                    "offline_cap_exceeded",
                    f"a device may hold {cap} offline; {outstanding} is loaded and unredeemed",
                    limit=cap,
                    outstanding=outstanding,
                )
            leg = _Leg(
                device.wallet_id,
                system[CbdcAccountCode.offline_outstanding],
                amount,
                self.config.ledger,
                CbdcTransferCode.offline_load,
                reference=device_id,
            )
            ids = self._post(unit, [leg], {})
            expires_at_s = unit.now_ns // _seconds_ns + cbdc_offline_token_lifetime_s
            tokens = [
                issue_token(issuer, self._ids.next_id(), value, device.public_key, expires_at_s)
                for value in notes
            ]
            unit.sql.executemany(
                "INSERT INTO cbdc_offline_tokens (id, device_id, amount, expires_at_s, status)"
                " VALUES (?, ?, ?, ?, 'outstanding')",
                [(t.token_id, device_id, t.amount, t.expires_at_s) for t in tokens],
            )
            operation = self._record(
                unit, None, "offline_load", ids, amount, None, device.wallet_id, None
            )
            load = Load(operation, device_id, tuple(Note(t) for t in tokens))
            store_idempotency(unit, idempotency, load, _KEYS)
            return load

        return self._ledger.run(work)

    def sync_device(
        self,
        device_id: int,
        notes: Sequence[Note],
        idempotency: IdempotencyRequest | None = None,
    ) -> Sync:
        """Redeem notes a device holds, on reconnection, into its wallet (with the waterfall).

        Each note is verified and refused alone (`token_forged`, `hop_forged`,
        `chain_broken`, `not_the_holder`, `token_unknown`, `replayed`). A note whose token
        was redeemed before with another history is a double spend: the owner who signed
        both continuations is the offender; this device is paid from the offender's online
        balance as far as it goes (`recovered`), the rest is `flagged`, and the offender's
        device is revoked."""
        if len(notes) > cbdc_offline_sync_tokens_max:
            raise invalid("too_many_notes", f"sync at most {cbdc_offline_sync_tokens_max} notes")
        issuer = self.issuer_public_key()
        system = self._accounts()
        checked: list[tuple[Note, str | None]] = []
        for note in notes:
            try:
                verify_note(note, issuer)
                checked.append((note, None))
            except OfflineError as error:
                checked.append((note, error.code))

        def work(unit: LedgerUnit) -> Sync:
            _check_key(unit, idempotency)
            device = _device_in(unit.sql, device_id)
            wallet = _wallet_in(unit.sql, device.wallet_id)
            outcomes: list[NoteOutcome] = []
            legs: list[_Leg] = []
            redeemed = 0
            for note, failure in checked:
                token_id = note.token.token_id
                if failure is None and note.holder != device.public_key:
                    failure = "not_the_holder"
                if failure is not None:
                    outcomes.append(NoteOutcome(token_id, failure, 0))
                    continue
                outcome, leg = self._redeem_note(unit, device, wallet, note)
                outcomes.append(outcome)
                if leg is not None:
                    legs.append(leg)
                elif outcome.status == "redeemed":
                    redeemed += outcome.amount
            if redeemed:
                legs.insert(
                    0,
                    _Leg(
                        system[CbdcAccountCode.offline_outstanding],
                        wallet.id,
                        redeemed,
                        self.config.ledger,
                        CbdcTransferCode.offline_redeem,
                        reference=device_id,
                    ),
                )
            credited = sum(o.amount for o in outcomes)
            swept = 0
            ids: list[int] = []
            if legs:
                legs, swept = self._waterfall(unit, wallet, credited, legs)
                ids = self._post(unit, legs, {})
                self._record(
                    unit, None, "offline_redeem", ids, credited, None, None, wallet.id, swept
                )
            sync = Sync(device_id, credited, swept, tuple(outcomes))
            store_idempotency(unit, idempotency, sync, _KEYS)
            return sync

        return self._ledger.run(work)

    def _redeem_note(
        self, unit: LedgerUnit, device: Device, wallet: CbdcWallet, note: Note
    ) -> tuple[NoteOutcome, _Leg | None]:
        """One verified note held by `device`: redeemed (no leg: the pool pays), replayed,
        or a double spend (a recovery leg from the offender's wallet, if it has money)."""
        token = note.token
        row = unit.sql.fetch_one(
            "SELECT amount, status, chain FROM cbdc_offline_tokens WHERE id = ?",
            (token.token_id,),
        )
        if row is None or int(row[0]) != token.amount:
            return NoteOutcome(token.token_id, "token_unknown", 0), None
        chain = [digest.hex() for digest in note.digests()]
        if row[1] == "outstanding":
            unit.sql.execute(
                "UPDATE cbdc_offline_tokens SET status = 'redeemed', chain = ?, redeemed_by = ?,"
                " redeemed_at_ns = ? WHERE id = ? AND status = 'outstanding'",
                (",".join(chain), device.id, unit.now_ns, token.token_id),
            )
            return NoteOutcome(token.token_id, "redeemed", token.amount), None
        earlier = str(row[2]).split(",")
        position = first_divergence([bytes.fromhex(d) for d in earlier], note.digests())
        if position is None:
            return NoteOutcome(token.token_id, "replayed", 0), None
        offender_key = note.owner_at(position - 1)
        offender_row = unit.sql.fetch_one(
            "SELECT id, wallet_id FROM cbdc_devices WHERE public_key = ?", (offender_key.hex(),)
        )
        recovered = 0
        leg = None
        offender_device = None if offender_row is None else int(offender_row[0])
        if offender_row is not None:
            unit.sql.execute(
                "UPDATE cbdc_devices SET status = 'revoked' WHERE id = ?", (offender_device,)
            )
            offender_wallet = int(offender_row[1])
            if offender_key != device.public_key and offender_wallet != wallet.id:
                account = unit.lookup_accounts([offender_wallet])[offender_wallet]
                available = _balance(account) - account.debits_pending
                recovered = max(0, min(token.amount, available))
                if recovered:
                    leg = _Leg(
                        offender_wallet,
                        wallet.id,
                        recovered,
                        self.config.ledger,
                        CbdcTransferCode.offline_recovery,
                        reference=token.token_id,
                    )
        victim_loss = 0 if offender_key == device.public_key else token.amount
        flagged = victim_loss - recovered
        unit.sql.execute(
            "INSERT INTO cbdc_double_spends (id, token_id, offender_key, offender_device,"
            " victim_device, amount, recovered, flagged, created_at_ns)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._ids.next_id(), token.token_id, offender_key.hex(), offender_device,
             device.id, token.amount, recovered, flagged, unit.now_ns),
        )  # fmt: skip
        write_outbox(
            unit,
            self._ids,
            "cbdc.offline.double_spend",
            str(token.token_id),
            {"offender": offender_key.hex(), "recovered": recovered, "flagged": flagged},
        )
        status = "double_spend_by_holder" if offender_key == device.public_key else "recovered"
        return NoteOutcome(token.token_id, status, recovered, offender_key, flagged), leg

    def double_spends(self) -> list[tuple[int, str, int, int, int]]:
        """(token id, offender key, amount, recovered, flagged) of every detected double spend."""
        rows = self._reader().fetch_all(
            "SELECT token_id, offender_key, amount, recovered, flagged FROM cbdc_double_spends"
            " ORDER BY id LIMIT ?",
            (cbdc_scan_page_max,),
        )
        return [(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    # -- the central bank's view and the audit -------------------------------------------------

    def overview(self) -> Overview:
        """Issuance, circulation by tier and by distributing participant, escrow, velocity."""
        system = self._accounts()
        accounts = _by_id(self._ledger.lookup_accounts(list(system.values())))
        issuance = accounts[system[CbdcAccountCode.issuance]]
        by_tier = {tier.value: 0 for tier in Tier}
        by_participant: dict[int, int] = {}
        held = 0
        for wallets in self._wallet_pages():
            balances = _by_id(self._ledger.lookup_accounts([w.id for w in wallets]))
            for wallet in wallets:
                account = balances[wallet.id]
                by_tier[wallet.tier.value] += _balance(account)
                by_participant[wallet.participant_id] = by_participant.get(
                    wallet.participant_id, 0
                ) + _balance(account)
                held += account.debits_pending
        participants = self._all_participants()
        holdings = _by_id(self._ledger.lookup_accounts([p.holding_account for p in participants]))
        reserves = _by_id(self._ledger.lookup_accounts([p.reserve_account for p in participants]))
        participant_total = 0
        rows: list[Circulation] = []
        for participant in participants:
            own = _balance(holdings[participant.holding_account])
            participant_total += own
            rows.append(Circulation(participant.code, own + by_participant.get(participant.id, 0)))
        offline = _balance(accounts[system[CbdcAccountCode.offline_outstanding]])
        circulation = issuance.debits_posted - issuance.credits_posted
        since = self._clock.now_ns() - cbdc_velocity_window_s * _seconds_ns
        row = self._reader().fetch_one(
            "SELECT COALESCE(SUM(amount), 0) FROM cbdc_operations"
            " WHERE created_at_ns >= ? AND kind IN (?, ?, ?)",
            (since, *_PAYMENT_KINDS),
        )
        value = int(row[0]) if row is not None else 0
        return Overview(
            issued=issuance.debits_posted,
            redeemed=issuance.credits_posted,
            circulation=circulation,
            by_tier=(
                *(Circulation(tier, amount) for tier, amount in by_tier.items()),
                Circulation("participants", participant_total),
                Circulation("offline", offline),
            ),
            by_participant=tuple(rows),
            held_in_escrow=held,
            payments_value=value,
            velocity_window_s=cbdc_velocity_window_s,
            velocity_bps=value * 10_000 // circulation if circulation > 0 else 0,
            reserves=sum(_balance(a) for a in reserves.values()),
            backing=_balance(accounts[system[CbdcAccountCode.backing]]),
        )

    def audit(self) -> AuditReport:
        """Recompute the invariants from the ledger and the records; each check says what it
        compared. `ok` is False when any fails."""
        system = self._accounts()
        accounts = _by_id(self._ledger.lookup_accounts(list(system.values())))
        issuance = accounts[system[CbdcAccountCode.issuance]]
        issued, redeemed = issuance.debits_posted, issuance.credits_posted
        circulation = issued - redeemed
        sums = {kind: self._operations_total(kind) for kind in ("mint", "redeem")}
        held_by_code: dict[int, int] = {}
        unknown = 0
        for page in self._ledger_pages(self.config.ledger):
            for account in page:
                if account.id == issuance.id:
                    continue
                if account.code not in CbdcAccountCode._value2member_map_:
                    unknown += 1
                held_by_code[account.code] = held_by_code.get(account.code, 0) + _balance(account)
        held = sum(held_by_code.values())
        backing = _balance(accounts[system[CbdcAccountCode.backing]])
        offline = _balance(accounts[system[CbdcAccountCode.offline_outstanding]])
        row = self._reader().fetch_one(
            "SELECT COALESCE(SUM(amount), 0) FROM cbdc_offline_tokens WHERE status = 'outstanding'"
        )
        tokens = int(row[0]) if row is not None else 0
        over = self._wallets_over_limit()
        checks = (
            Check("issued_matches_mints", issued == sums["mint"],
                  f"issuance account debits {issued}, mint records {sums['mint']}"),
            Check("redeemed_matches_redemptions", redeemed == sums["redeem"],
                  f"issuance account credits {redeemed}, redemption records {sums['redeem']}"),
            Check("circulation_is_held", circulation == held,
                  f"issued - redeemed = {circulation}; balances held = {held}"),
            Check("only_cbdc_accounts", unknown == 0,
                  f"{unknown} accounts on ledger {self.config.ledger} with an unknown code"),
            Check("fully_backed", backing == circulation,
                  f"fiat backing {backing}; circulation {circulation}"),
            Check("offline_pool_matches_tokens", offline == tokens,
                  f"offline pool {offline}; outstanding tokens {tokens}"),
            Check("holding_limits", over == 0, f"{over} wallets over their tier's limit"),
        )  # fmt: skip
        return AuditReport(issued, redeemed, circulation, checks)

    def _operations_total(self, kind: str) -> int:
        row = self._reader().fetch_one(
            "SELECT COALESCE(SUM(amount), 0) FROM cbdc_operations WHERE kind = ?", (kind,)
        )
        return int(row[0]) if row is not None else 0

    def _wallets_over_limit(self) -> int:
        over = 0
        for wallets in self._wallet_pages():
            balances = _by_id(self._ledger.lookup_accounts([w.id for w in wallets]))
            over += sum(
                1 for w in wallets if _balance(balances[w.id]) > self.config.holding_max(w.tier)
            )
        return over

    def _wallet_pages(self) -> Iterator[list[CbdcWallet]]:
        after = 0
        while True:
            rows = self._reader().fetch_all(
                f"SELECT {_WALLET_COLUMNS} FROM cbdc_wallets WHERE id > ? ORDER BY id LIMIT ?",
                (after, cbdc_scan_page_max),
            )
            if not rows:
                return
            wallets = [_wallet_from(row) for row in rows]
            yield wallets
            after = wallets[-1].id

    def _all_participants(self) -> list[Participant]:
        rows = self._reader().fetch_all(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM cbdc_participants ORDER BY id LIMIT ?",
            (cbdc_scan_page_max,),
        )
        return [_participant_from(row) for row in rows]

    def _ledger_pages(self, ledger: int) -> Iterator[list[Account]]:
        timestamp = 0
        while True:
            page = self._ledger.query_accounts(
                QueryFilter(ledger=ledger, timestamp_min=timestamp, limit=cbdc_scan_page_max)
            )
            if not page:
                return
            yield page
            timestamp = page[-1].timestamp + 1

    # -- shared paths --------------------------------------------------------------------------

    def _refuse_over_limit(self, unit: LedgerUnit, wallet: CbdcWallet, amount: int) -> None:
        balance = _balance(unit.lookup_accounts([wallet.id])[wallet.id])
        limit = self.config.holding_max(wallet.tier)
        if balance + amount > limit:
            raise refused(
                "holding_limit_exceeded",
                f"a {wallet.tier.value} wallet holds at most {limit}; it holds {balance}",
                limit=limit,
                attempted=balance + amount,
            )

    def _waterfall(
        self, unit: LedgerUnit, payee: CbdcWallet, amount: int, legs: list[_Leg]
    ) -> tuple[list[_Leg], int]:
        """`legs` (which pay `amount` into `payee`) plus a sweep of what exceeds its limit to
        its linked bank; refused when there is an excess and no linked bank."""
        balance = _balance(unit.lookup_accounts([payee.id])[payee.id])
        split = split_inflow(balance, amount, self.config.holding_max(payee.tier))
        if split.swept == 0:
            return legs, 0
        if payee.linked_account is None:
            raise refused(
                "holding_limit_exceeded",
                f"the payee's wallet would exceed its limit by {split.swept} and has no linked"
                " bank account to sweep to",
                limit=self.config.holding_max(payee.tier),
                attempted=balance + amount,
            )
        participant = _participant_in(unit.sql, payee.participant_id)
        sweep = _Leg(
            payee.id,
            participant.holding_account,
            split.swept,
            self.config.ledger,
            CbdcTransferCode.sweep,
            reference=payee.id,
        )
        return [*legs, sweep], split.swept

    def _post(
        self,
        unit: LedgerUnit,
        legs: Sequence[_Leg],
        refusals: dict[int, str],
        transfer_ids: Sequence[int] = (),
    ) -> list[int]:
        """Post `legs` as one linked chain; a refusal raises, so nothing is kept."""
        invariant(len(legs) > 0, "a chain has legs")
        ids = list(transfer_ids) or [self._ids.next_id() for _ in legs]
        invariant(len(ids) == len(legs), "one id per leg")
        last = len(legs) - 1
        requests = [
            TransferRequest(
                ids[i],
                leg.debit,
                leg.credit,
                leg.amount,
                leg.ledger,
                int(leg.code),
                leg.flags | (int(TransferFlags.linked) if i < last else 0),
                leg.pending_id,
                leg.timeout_s,
                user_data_64=leg.reference,
            )
            for i, leg in enumerate(legs)
        ]
        results = unit.create_transfers(requests)
        if not results:
            return ids
        index, status = chain_failure(results)
        if status is CreateTransferStatus.exceeds_credits:
            code = refusals.get(legs[index].debit, "insufficient_funds")
            raise refused(code, "the paying account's balance does not cover this")
        if status is CreateTransferStatus.pending_transfer_expired:
            raise conflict("conditional_payment_expired", "the payment expired; the payer has it")
        raise conflict("ledger_refused", f"the ledger refused the transaction: {status.name}")

    def _record(
        self,
        unit: LedgerUnit,
        idempotency: IdempotencyRequest | None,
        kind: str,
        transfer_ids: list[int],
        amount: int,
        participant_id: int | None = None,
        from_wallet: int | None = None,
        to_wallet: int | None = None,
        swept: int = 0,
    ) -> Operation:
        """The operation's row, its outbox event and its Idempotency-Key, with its postings."""
        operation = Operation(
            self._ids.next_id(), kind, participant_id, from_wallet, to_wallet, amount, swept,
            unit.now_ns,
        )  # fmt: skip
        unit.sql.execute(
            "INSERT INTO cbdc_operations (id, kind, participant_id, from_wallet, to_wallet,"
            " amount, swept, transfer_ids, created_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (operation.id, kind, participant_id, from_wallet, to_wallet, amount, swept,
             json.dumps(transfer_ids), operation.created_at_ns),
        )  # fmt: skip
        write_outbox(
            unit, self._ids, f"cbdc.{kind}", str(operation.id), {"amount": amount, "swept": swept}
        )
        store_idempotency(unit, idempotency, operation, _KEYS)
        return operation

    def _reader(self) -> SqlSession:
        return self._ledger.store.reader()


# -- rows -----------------------------------------------------------------------------------------


def _check_key(unit: LedgerUnit, idempotency: IdempotencyRequest | None) -> None:
    if idempotency is not None:
        check_idempotency(unit.sql, idempotency, _KEYS)


def _check_amount(amount: int) -> None:
    if type(amount) is not int or not 0 < amount <= ledger_amount_max:
        raise invalid("amount_invalid", "the amount must be a positive number of minor units")


def _check_text(text: str, code: str, length_max: int) -> None:
    if not isinstance(text, str) or not 0 < len(text) <= length_max or not text.isprintable():
        raise invalid(code, f"give 1 to {length_max} printable characters")


def _balance(account: Account) -> int:
    return balance_of(account.debits_posted, account.credits_posted, CbdcAccountCode(account.code))


def _by_id(accounts: Sequence[Account]) -> dict[int, Account]:
    return {account.id: account for account in accounts}


def _outstanding(sql: SqlSession, device_id: int) -> int:
    row = sql.fetch_one(
        "SELECT COALESCE(SUM(amount), 0) FROM cbdc_offline_tokens"
        " WHERE device_id = ? AND status = 'outstanding'",
        (device_id,),
    )
    return int(row[0]) if row is not None else 0


def _participant_row(participant: Participant) -> tuple[object, ...]:
    p = participant
    return (p.id, p.code, p.name, p.kind.value, p.holding_account, p.reserve_account,
            p.conversion_account, p.created_at_ns)  # fmt: skip


def _participant_from(row: Sequence[object]) -> Participant:
    return Participant(
        int(str(row[0])), str(row[1]), str(row[2]), ParticipantKind(str(row[3])),
        int(str(row[4])), int(str(row[5])), int(str(row[6])), int(str(row[7])),
    )  # fmt: skip


def _participant_in(sql: SqlSession, participant_id: int) -> Participant:
    row = _row(sql, f"SELECT {_PARTICIPANT_COLUMNS} FROM cbdc_participants", participant_id,
               "participant_not_found", "participant")  # fmt: skip
    return _participant_from(row)


def _participant_refusals(participant: Participant) -> dict[int, str]:
    """Why a participant's account could not pay, by account."""
    return {
        participant.reserve_account: "insufficient_reserves",
        participant.holding_account: "insufficient_holding",
    }


def _row(sql: SqlSession, select: str, row_id: int, code: str, what: str) -> tuple[Any, ...]:
    """The row with this id, or a `not_found` error with `code`."""
    row = sql.fetch_one(f"{select} WHERE id = ?", (row_id,))
    if row is None:
        raise not_found(code, f"no {what} has the id {row_id}")
    return row


def _wallet_from(row: Sequence[object]) -> CbdcWallet:
    return CbdcWallet(
        int(str(row[0])), int(str(row[1])), str(row[2]), Tier(str(row[3])),
        None if row[4] is None else str(row[4]), None if row[5] is None else int(str(row[5])),
        int(str(row[6])),
    )  # fmt: skip


def _wallet_in(sql: SqlSession, wallet_id: int) -> CbdcWallet:
    row = _row(sql, f"SELECT {_WALLET_COLUMNS} FROM cbdc_wallets", wallet_id,
               "cbdc_wallet_not_found", "CBDC wallet")  # fmt: skip
    return _wallet_from(row)


def _device_in(sql: SqlSession, device_id: int) -> Device:
    row = _row(sql, "SELECT id, wallet_id, public_key, status, created_at_ns FROM cbdc_devices",
               device_id, "device_not_found", "device")  # fmt: skip
    return Device(int(row[0]), int(row[1]), bytes.fromhex(str(row[2])), str(row[3]), int(row[4]))
