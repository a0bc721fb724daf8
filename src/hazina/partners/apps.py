"""Partner apps of one tenant: onboarding with maker-checker approval, client credentials,
revocation, per-app limits, usage metering and revenue share.

An operator registers a partner's app (the maker: name, contact, the scopes it asks for, its
rate limit, daily quota and revenue share); another operator approves it (the checker: the
same person is refused, `maker_checker_same_person`). Approval issues the client credentials,
shown once (only the secret's SHA-256 is kept: it is 256 random bits, so a slow hash adds
nothing), and opens a wallet for the partner's revenue share. Revoking an app stops every token
it holds at once: each request checks that the app is still approved.

Only scopes a partner may hold can be asked for (`partner_scopes`): never users, keys, tariffs,
limits, risk decisions, approvals or issuance.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from hazina.identity.api_keys import secret_hash, verify_api_key_secret
from hazina.identity.roles import Role, Scope, scopes_for, stored_scopes
from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource, parse_prefixed
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    partner_apps_page_max,
    partner_burst_max,
    partner_daily_quota_max,
    partner_rate_per_second_max,
    partner_settlement_batch_max,
)
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.partners.errors import PartnerAppError
from hazina.partners.schema import SCHEMA
from hazina.payments.domain.chart import PartyKind
from hazina.payments.service import PaymentsService

partner_scopes = scopes_for([Role.partner])
_client_secret_prefix = "hzcs_"
_email = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
_columns = (
    "id, client_id, name, contact_email, scopes, status, requested_by, decided_by,"
    " rate_per_second, burst, daily_quota, revenue_share_bps, party_id, sandbox_tenant,"
    " created_at_ns, decided_at_ns"
)


@dataclass(frozen=True, slots=True)
class AppTerms:
    """What an app asks for and is granted on approval."""

    name: str
    contact_email: str
    scopes: frozenset[Scope]
    rate_per_second: int = 10
    burst: int = 20
    daily_quota: int = 10_000
    revenue_share_bps: int = 0


@dataclass(frozen=True, slots=True)
class PartnerApp:
    id: int
    client_id: str
    name: str
    contact_email: str
    scopes: frozenset[Scope]
    status: str  # pending, approved, rejected, revoked
    requested_by: str
    decided_by: str | None
    rate_per_second: int
    burst: int
    daily_quota: int
    revenue_share_bps: int
    party_id: int | None
    sandbox_tenant: str | None
    created_at_ns: int
    decided_at_ns: int | None


@dataclass(frozen=True, slots=True)
class Settlement:
    client_id: str
    transaction_id: int
    currency: str
    fee: int
    share: int
    payout_transaction_id: int | None  # None when the share rounds to nothing


def _transaction_of(body: str) -> int | None:
    """The payment a stored response is about: `{"id": "txn_..."}` or `{"transaction": ...}`."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("transaction"), dict):
        parsed = parsed["transaction"]
    identifier = parsed.get("id") if isinstance(parsed, dict) else None
    if not isinstance(identifier, str) or not identifier.startswith("txn_"):
        return None
    try:
        return parse_prefixed("txn", identifier)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ApprovedApp:
    app: PartnerApp
    client_secret: str  # shown once


def _app_from_row(row: tuple[Any, ...]) -> PartnerApp:
    return PartnerApp(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        stored_scopes(str(row[4])),
        str(row[5]),
        str(row[6]),
        None if row[7] is None else str(row[7]),
        int(row[8]),
        int(row[9]),
        int(row[10]),
        int(row[11]),
        None if row[12] is None else int(row[12]),
        None if row[13] is None else str(row[13]),
        int(row[14]),
        None if row[15] is None else int(row[15]),
    )


def check_terms(terms: AppTerms) -> None:
    name = terms.name.strip()
    if not 1 <= len(name) <= 80 or not name.isprintable():
        raise PartnerAppError(422, "app_name_invalid", "a name of 1-80 printable characters")
    if not _email.match(terms.contact_email):
        raise PartnerAppError(422, "contact_email_invalid", "a contact e-mail address")
    if not terms.scopes:
        raise PartnerAppError(422, "scopes_empty", "ask for at least one scope")
    beyond = sorted(scope.value for scope in terms.scopes - partner_scopes)
    if beyond:
        raise PartnerAppError(
            422, "scope_not_grantable", f"partners may not hold: {' '.join(beyond)}"
        )
    for value, top, what in (
        (terms.rate_per_second, partner_rate_per_second_max, "rate_per_second"),
        (terms.burst, partner_burst_max, "burst"),
        (terms.daily_quota, partner_daily_quota_max, "daily_quota"),
        (terms.revenue_share_bps, 10_000, "revenue_share_bps"),
    ):
        low = 0 if what == "revenue_share_bps" else 1
        if type(value) is not int or not low <= value <= top:
            raise PartnerAppError(422, f"{what}_invalid", f"{what} must be {low}-{top}")


class PartnerAppService:
    """The partner apps of the tenant whose database `ledger` is."""

    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        payments: PaymentsService,
        tenant: str,
        currencies: tuple[str, ...],
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._payments = payments
        self.tenant = tenant
        self._currencies = currencies
        ledger.store.ensure_schema("partners", SCHEMA)

    def register(self, terms: AppTerms, requested_by: str) -> PartnerApp:
        check_terms(terms)
        app_id = self._ids.next_id()
        client_id = f"{self.tenant}.{secrets.token_hex(8)}"

        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                f"INSERT INTO partner_apps ({_columns}, secret_hash)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, NULL, ?, ?, ?, ?, NULL, NULL, ?, NULL,"
                " NULL)",
                (
                    app_id,
                    client_id,
                    terms.name.strip(),
                    terms.contact_email,
                    " ".join(sorted(scope.value for scope in terms.scopes)),
                    requested_by,
                    terms.rate_per_second,
                    terms.burst,
                    terms.daily_quota,
                    terms.revenue_share_bps,
                    unit.now_ns,
                ),
            )

        self._ledger.run(work)
        return self.get(app_id)

    def approve(self, app_id: int, approved_by: str, sandbox_tenant: str | None) -> ApprovedApp:
        """The checker's approval: credentials issued and shown once; a wallet for the app's
        revenue share; `sandbox_tenant` recorded (the caller creates it)."""
        app = self.get(app_id)
        self._check_decidable(app, approved_by)
        party = self._payments.register_party(
            PartyKind.merchant,
            f"{app.name} (partner)"[:80],
            list(self._currencies),
            code=f"P{app.id % 10**12:012d}",
        )
        secret = _client_secret_prefix + secrets.token_urlsafe(32)

        def work(unit: LedgerUnit) -> int:
            return unit.sql.execute(
                "UPDATE partner_apps SET status = 'approved', decided_by = ?, decided_at_ns = ?,"
                " secret_hash = ?, party_id = ?, sandbox_tenant = ?"
                " WHERE id = ? AND status = 'pending'",
                (approved_by, unit.now_ns, secret_hash(secret), party.id, sandbox_tenant, app_id),
            )

        if self._ledger.run(work) != 1:
            raise PartnerAppError(409, "partner_app_not_pending", "the app was decided already")
        approved = self.get(app_id)
        invariant(approved.status == "approved", "approved")
        return ApprovedApp(approved, secret)

    def reject(self, app_id: int, rejected_by: str) -> PartnerApp:
        self._check_decidable(self.get(app_id), rejected_by)
        self._set_status(app_id, "rejected", rejected_by, "pending")
        return self.get(app_id)

    def revoke(self, app_id: int, revoked_by: str) -> PartnerApp:
        self._set_status(app_id, "revoked", revoked_by, "approved")
        return self.get(app_id)

    def _check_decidable(self, app: PartnerApp, by: str) -> None:
        if app.status != "pending":
            raise PartnerAppError(409, "partner_app_not_pending", f"the app is {app.status}")
        if app.requested_by == by:
            raise PartnerAppError(
                409, "maker_checker_same_person", "the operator who registered the app cannot "
                "decide it; another operator must",
            )  # fmt: skip

    def _set_status(self, app_id: int, status: str, by: str, was: str) -> None:
        def work(unit: LedgerUnit) -> int:
            return unit.sql.execute(
                "UPDATE partner_apps SET status = ?, decided_by = ?, decided_at_ns = ?"
                " WHERE id = ? AND status = ?",
                (status, by, unit.now_ns, app_id, was),
            )

        if self._ledger.run(work) != 1:
            app = self.get(app_id)
            raise PartnerAppError(
                409, f"partner_app_not_{was}", f"the app is {app.status}, not {was}"
            )

    # -- reads ---------------------------------------------------------------------------------

    def get(self, app_id: int) -> PartnerApp:
        row = self._ledger.store.reader().fetch_one(
            f"SELECT {_columns} FROM partner_apps WHERE id = ?", (app_id,)
        )
        if row is None:
            raise PartnerAppError(404, "partner_app_not_found", "no such partner app")
        return _app_from_row(row)

    def by_client_id(self, client_id: str) -> PartnerApp | None:
        row = self._ledger.store.reader().fetch_one(
            f"SELECT {_columns} FROM partner_apps WHERE client_id = ?", (client_id,)
        )
        return None if row is None else _app_from_row(row)

    def page(self, after_id: int = 0, limit: int = partner_apps_page_max) -> list[PartnerApp]:
        rows = self._ledger.store.reader().fetch_all(
            f"SELECT {_columns} FROM partner_apps WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [_app_from_row(row) for row in rows]

    def authenticate_client(self, client_id: str, client_secret: str) -> PartnerApp:
        """The approved app these credentials belong to; one error for every wrong part."""
        row = self._ledger.store.reader().fetch_one(
            "SELECT id, secret_hash, status FROM partner_apps WHERE client_id = ?", (client_id,)
        )
        stored = str(row[1]) if row is not None and row[1] is not None else secret_hash("x")
        good = verify_api_key_secret(client_secret, stored)
        if row is None or not good or row[2] != "approved":
            raise PartnerAppError(401, "invalid_client", "client authentication failed")
        return self.get(int(row[0]))

    # -- revenue share -------------------------------------------------------------------------

    def settle_revenue_share(self, limit: int = partner_settlement_batch_max) -> list[Settlement]:
        """Pay each app its share of the fees on the payments it originated, once each.

        A partner-originated payment is one whose Idempotency-Key was stored for a partner's
        token (`partner:<client id>`, in the same transaction as the payment). Its share is
        the app's `revenue_share_bps` of the payment's fee, rounded down to a minor unit,
        paid from fee income to the app's wallet by a ledger transfer; the settlement row is
        written in the same database transaction, keyed by the payment, so a payment is
        never shared twice even if two runs race."""
        reader = self._ledger.store.reader()
        cursor = reader.fetch_one("SELECT after_ns FROM partner_settlement_cursor WHERE id = 1")
        after_ns = 0 if cursor is None else int(cursor[0])
        rows = reader.fetch_all(
            "SELECT principal, body, created_at_ns FROM idempotency_keys"
            " WHERE principal LIKE 'partner:%' AND status BETWEEN 200 AND 299"
            " AND created_at_ns >= ? ORDER BY created_at_ns LIMIT ?",
            (after_ns, limit),
        )
        settled: list[Settlement] = []
        for principal, body, _ in rows:
            transaction_id = _transaction_of(str(body))
            if transaction_id is None or reader.fetch_one(
                "SELECT 1 FROM partner_revenue_shares WHERE transaction_id = ?", (transaction_id,)
            ):
                continue
            app = self.by_client_id(str(principal).removeprefix("partner:"))
            if app is None:
                continue
            settled.append(self._settle(app, transaction_id))
        if rows:
            last_ns = int(rows[-1][2])

            def advance(unit: LedgerUnit) -> None:
                unit.sql.execute(
                    "INSERT INTO partner_settlement_cursor (id, after_ns) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET after_ns = excluded.after_ns"
                    " WHERE partner_settlement_cursor.after_ns < excluded.after_ns",
                    (last_ns,),
                )

            self._ledger.run(advance)
        return settled

    def _settle(self, app: PartnerApp, transaction_id: int) -> Settlement:
        transaction = self._payments.get_transaction(transaction_id)
        share = transaction.fee * app.revenue_share_bps // 10_000
        invariant(0 <= share <= transaction.fee, "a share of the fee, never more")

        def record(unit: LedgerUnit, transfer_id: int | None) -> None:
            unit.sql.execute(
                "INSERT INTO partner_revenue_shares (transaction_id, client_id, fee, share,"
                " transfer_id, settled_at_ns) VALUES (?, ?, ?, ?, ?, ?)",
                (transaction_id, app.client_id, transaction.fee, share, transfer_id, unit.now_ns),
            )

        if share == 0 or app.party_id is None or transaction.status != "completed":
            self._ledger.run(lambda unit: record(unit, None))
            return Settlement(
                app.client_id, transaction_id, transaction.currency, transaction.fee, 0, None
            )
        wallet = self._payments.wallet_of(app.party_id, transaction.currency)
        paid = self._payments.pay_revenue_share(
            wallet.id,
            share,
            transaction.currency,
            f"revenue share {app.client_id}",
            after=lambda unit, payout: record(unit, payout.id),
        )
        return Settlement(
            app.client_id, transaction_id, transaction.currency, transaction.fee, share, paid.id
        )

    def revenue(self, client_id: str) -> tuple[int, int, int]:
        """(payments settled, fees on them, shares paid) of one app, in minor units."""
        row = self._ledger.store.reader().fetch_one(
            "SELECT count(*), coalesce(sum(fee), 0), coalesce(sum(share), 0)"
            " FROM partner_revenue_shares WHERE client_id = ?",
            (client_id,),
        )
        if row is None:
            return 0, 0, 0
        return int(row[0]), int(row[1]), int(row[2])

    # -- usage ---------------------------------------------------------------------------------

    def record_usage(self, counts: dict[tuple[str, int], int]) -> None:
        """Add metered requests per (client id, day)."""
        if not counts:
            return

        def work(unit: LedgerUnit) -> None:
            for (client_id, day), requests in sorted(counts.items()):
                unit.sql.execute(
                    "INSERT INTO partner_usage (client_id, day, requests) VALUES (?, ?, ?)"
                    " ON CONFLICT (client_id, day) DO UPDATE"
                    " SET requests = partner_usage.requests + excluded.requests",
                    (client_id, day, requests),
                )

        self._ledger.run(work)

    def usage(self, client_id: str, first_day: int, last_day: int) -> list[tuple[int, int]]:
        rows = self._ledger.store.reader().fetch_all(
            "SELECT day, requests FROM partner_usage WHERE client_id = ? AND day BETWEEN ? AND ?"
            " ORDER BY day",
            (client_id, first_day, last_day),
        )
        return [(int(day), int(requests)) for day, requests in rows]
