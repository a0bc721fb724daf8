"""Maker-checker for configuration and books: tariff changes, KYC limit changes and manual
journal entries wait as requests until a second operator approves or rejects them.

A request holds the change as validated data (the same types the payments service takes);
approving it carries the change out through the payments service, and the request is marked
approved in the same database transaction, so a change is never applied twice nor marked
without being applied. The maker can never decide their own request: the service refuses it
and the table's CHECK constraint refuses it again. Reversals keep their own requests
(`PaymentsService.request_reversal`), older than these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hazina.kernel.ids import IdSource, prefixed
from hazina.kernel.invariant import invariant
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession
from hazina.payments import tariff_codec
from hazina.payments.domain.limits import KycTier, TierLimits
from hazina.payments.domain.tariffs import Tariff
from hazina.payments.errors import conflict, invalid, not_found, refused
from hazina.payments.records import PaymentTransaction
from hazina.payments.service import PaymentsService

SCHEMA = """
CREATE TABLE IF NOT EXISTS change_requests (
    id             BIGINT PRIMARY KEY,
    kind           TEXT NOT NULL
                       CHECK (kind IN ('tariff_change', 'limit_change', 'journal_entry')),
    body           TEXT NOT NULL,
    summary        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    decided_by     TEXT,
    outcome        TEXT,
    created_at_ns  BIGINT NOT NULL,
    decided_at_ns  BIGINT,
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX IF NOT EXISTS change_requests_status ON change_requests (status, id);
"""

_COLUMNS = (
    "id, kind, body, summary, reason, requested_by, status, decided_by, outcome,"
    " created_at_ns, decided_at_ns"
)


class ChangeKind(StrEnum):
    tariff_change = "tariff_change"
    limit_change = "limit_change"
    journal_entry = "journal_entry"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """Move `amount` minor units from one of the operator's accounts to another."""

    debit_wallet_id: int
    credit_wallet_id: int
    amount: int
    currency: str
    memo: str


Change = Tariff | TierLimits | JournalEntry


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    id: int
    kind: ChangeKind
    change: Change
    summary: str
    reason: str
    requested_by: str
    status: str  # requested, approved, rejected
    decided_by: str | None
    outcome: str | None  # what approving did: the tariff version, the journal's transaction
    created_at_ns: int
    decided_at_ns: int | None


def kind_of(change: Change) -> ChangeKind:
    if isinstance(change, Tariff):
        return ChangeKind.tariff_change
    if isinstance(change, TierLimits):
        return ChangeKind.limit_change
    return ChangeKind.journal_entry


def _body_of(change: Change) -> dict[str, Any]:
    if isinstance(change, Tariff):
        return tariff_codec.tariff_to_dict(change)
    if isinstance(change, TierLimits):
        return {
            "currency": change.currency,
            "tier": int(change.tier),
            "max_balance": change.max_balance,
            "per_transaction": change.per_transaction,
            "daily_volume": change.daily_volume,
            "monthly_volume": change.monthly_volume,
        }
    return {
        "debit_wallet_id": change.debit_wallet_id,
        "credit_wallet_id": change.credit_wallet_id,
        "amount": change.amount,
        "currency": change.currency,
        "memo": change.memo,
    }


def _change_from(kind: ChangeKind, body: dict[str, Any]) -> Change:
    if kind is ChangeKind.tariff_change:
        return tariff_codec.tariff_from_dict(body)
    if kind is ChangeKind.limit_change:
        return TierLimits(
            body["currency"],
            KycTier(body["tier"]),
            body["max_balance"],
            body["per_transaction"],
            body["daily_volume"],
            body["monthly_volume"],
        )
    return JournalEntry(
        body["debit_wallet_id"],
        body["credit_wallet_id"],
        body["amount"],
        body["currency"],
        body["memo"],
    )


def _summary(change: Change) -> str:
    if isinstance(change, Tariff):
        return f"{change.currency} tariff version {change.version}"
    if isinstance(change, TierLimits):
        return (
            f"{change.currency} KYC tier {int(change.tier)} limits: balance {change.max_balance},"
            f" per transaction {change.per_transaction}, day {change.daily_volume},"
            f" month {change.monthly_volume} (minor units)"
        )
    return (
        f"journal {change.amount} {change.currency} minor units from"
        f" {prefixed('wal', change.debit_wallet_id)} to {prefixed('wal', change.credit_wallet_id)}"
    )


def _request_from_row(row: tuple[Any, ...]) -> ChangeRequest:
    kind = ChangeKind(row[1])
    return ChangeRequest(
        int(row[0]),
        kind,
        _change_from(kind, json.loads(row[2])),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        int(row[9]),
        None if row[10] is None else int(row[10]),
    )


class ApprovalService:
    """Change requests of the payments context and their two-person decisions."""

    def __init__(self, ledger: LedgerService, ids: IdSource, payments: PaymentsService) -> None:
        self._ledger = ledger
        self._ids = ids
        self._payments = payments
        ledger.store.ensure_schema("approvals", SCHEMA)

    def request(self, change: Change, requested_by: str, reason: str) -> ChangeRequest:
        """File a change for a second operator to decide; nothing changes yet. The change is
        checked now as far as it can be without applying it."""
        if not reason.strip():
            raise invalid("reason_required", "a change request says why")
        self._check(change)
        kind = kind_of(change)
        body = json.dumps(_body_of(change), sort_keys=True)
        invariant(_change_from(kind, json.loads(body)) == change, "the body round-trips")

        def work(unit: LedgerUnit) -> int:
            request_id = self._ids.next_id()
            unit.sql.execute(
                f"INSERT INTO change_requests ({_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, 'requested', NULL, NULL, ?, NULL)",
                (
                    request_id,
                    kind.value,
                    body,
                    _summary(change),
                    reason.strip(),
                    requested_by,
                    unit.now_ns,
                ),
            )
            return request_id

        return self.get(self._ledger.run(work))

    def decide(self, request_id: int, decided_by: str, approve: bool) -> ChangeRequest:
        """Approve (the change is carried out) or reject; never by the request's maker."""
        request = self.get(request_id)
        if request.status != "requested":
            raise conflict("change_decided", f"this request was already {request.status}")
        if request.requested_by == decided_by:
            raise refused(
                "maker_checker_violation",
                "the operator who requested a change cannot approve or reject it",
            )
        if not approve:
            self._ledger.run(lambda unit: self._mark(unit, request, decided_by, "rejected", None))
            return self.get(request_id)
        change = request.change
        if isinstance(change, Tariff):
            self._payments.publish_tariff(
                change,
                decided_by,
                after=lambda unit: self._mark(
                    unit, request, decided_by, "approved", f"tariff version {change.version}"
                ),
            )
        elif isinstance(change, TierLimits):
            self._payments.set_tier_limits(
                change,
                decided_by,
                after=lambda unit: self._mark(unit, request, decided_by, "approved", "in force"),
            )
        else:

            def posted(unit: LedgerUnit, transaction: PaymentTransaction) -> None:
                self._mark(unit, request, decided_by, "approved", prefixed("txn", transaction.id))

            self._payments.post_journal_entry(
                change.debit_wallet_id,
                change.credit_wallet_id,
                change.amount,
                change.currency,
                change.memo,
                decided_by,
                after=posted,
            )
        return self.get(request_id)

    def get(self, request_id: int) -> ChangeRequest:
        row = self._reader().fetch_one(
            f"SELECT {_COLUMNS} FROM change_requests WHERE id = ?", (request_id,)
        )
        if row is None:
            raise not_found("change_request_not_found", f"no change request {request_id}")
        return _request_from_row(row)

    def list(self, status: str | None, after_id: int, limit: int) -> list[ChangeRequest]:
        where, parameters = "WHERE id > ?", list[object]([after_id])
        if status is not None:
            where += " AND status = ?"
            parameters.append(status)
        rows = self._reader().fetch_all(
            f"SELECT {_COLUMNS} FROM change_requests {where} ORDER BY id LIMIT ?",
            (*parameters, limit),
        )
        return [_request_from_row(row) for row in rows]

    def _check(self, change: Change) -> None:
        payments = self._payments
        if isinstance(change, Tariff):
            schedule = payments.tariff_schedule(change.currency)
            newest = max((t.version for t in schedule.tariffs), default=0)
            if change.version <= newest:
                raise invalid(
                    "tariff_version_exists",
                    f"{change.currency} tariff version {change.version} is not newer than {newest}",
                )
        elif isinstance(change, TierLimits):
            configured = {(entry.currency, entry.tier) for entry in payments.tier_limits()}
            if (change.currency, change.tier) not in configured:
                raise invalid(
                    "limits_not_configured",
                    f"{change.currency} KYC tier {int(change.tier)} has no limits to change",
                )
        else:
            if type(change.amount) is not int or change.amount <= 0:
                raise invalid("amount_invalid", "a journal entry moves a positive amount")
            if not change.memo.strip():
                raise invalid("memo_required", "a journal entry says why in its memo")
            own = set(payments.operator_wallets(change.currency).values())
            if {change.debit_wallet_id, change.credit_wallet_id} - own:
                raise invalid(
                    "journal_account_invalid",
                    "a manual journal entry moves money between the operator's own accounts",
                )
            if change.debit_wallet_id == change.credit_wallet_id:
                raise invalid("self_payment", "debit and credit are the same account")

    def _mark(
        self,
        unit: LedgerUnit,
        request: ChangeRequest,
        decided_by: str,
        status: str,
        outcome: str | None,
    ) -> None:
        """Decide the request, only if it is still waiting (a race loses here and rolls back
        whatever was applied with it)."""
        changed = unit.sql.execute(
            "UPDATE change_requests SET status = ?, decided_by = ?, outcome = ?,"
            " decided_at_ns = ? WHERE id = ? AND status = 'requested'",
            (status, decided_by, outcome, unit.now_ns, request.id),
        )
        if changed != 1:
            raise conflict("change_decided", "this request was decided meanwhile")

    def _reader(self) -> SqlSession:
        return self._ledger.store.reader()
