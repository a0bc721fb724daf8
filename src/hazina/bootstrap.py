"""Composition root: wires stores, clock, id source and services together. Nothing else does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hazina.credit.loans.service import LoansService
from hazina.identity.service import IdentityService
from hazina.kernel.clock import Clock, SystemClock
from hazina.kernel.ids import IdSource
from hazina.kernel.limits import risk_history_window_s, risk_warm_up_payments_max
from hazina.ledger.audit import JournalHead, VerifyReport, verify
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import LedgerStore
from hazina.payments.service import PaymentsService
from hazina.risk.aml.cases import CaseService
from hazina.risk.registry import ModelRegistry, RegistryError
from hazina.risk.rules import RuleError
from hazina.risk.service import RiskService

_S = TypeVar("_S")

default_database = "var/hazina.sqlite3"
default_model_registry = "var/models"  # where `hazina serve` looks for the champion model


def is_postgres_dsn(database: str) -> bool:
    """A libpq connection string: a `postgresql://` URL, or key=value pairs naming a dbname."""
    if database.startswith(("postgresql://", "postgres://")):
        return True
    pairs = database.split()
    return (
        bool(pairs)
        and all("=" in pair for pair in pairs)
        and any(pair.startswith("dbname=") for pair in pairs)
    )


def open_ledger_store(database: str) -> LedgerStore:
    """A PostgreSQL connection string (URL or key=value) opens PostgreSQL; anything else is a
    SQLite file path."""
    if is_postgres_dsn(database):
        from hazina.ledger.store.postgres import PostgresLedgerStore

        return PostgresLedgerStore(database)
    from hazina.ledger.store.sqlite import SqliteLedgerStore

    return SqliteLedgerStore(database)


def build_ledger(database: str = default_database, clock: Clock | None = None) -> LedgerService:
    return LedgerService(open_ledger_store(database), clock or SystemClock())


@dataclass(frozen=True, slots=True)
class Platform:
    """Every service of one running platform, over one database."""

    clock: Clock
    ids: IdSource
    ledger: LedgerService
    payments: PaymentsService
    identity: IdentityService
    risk: RiskService
    cases: CaseService
    loans: LoansService
    models: ModelRegistry | None = None  # the registry the champion came from, if any
    database: str = default_database  # what it was built over (a path or a DSN)
    _services: dict[str, object] = field(default_factory=dict)
    _services_lock: threading.Lock = field(default_factory=threading.Lock)

    def service(self, name: str, build: Callable[[Platform], _S]) -> _S:
        """A service of this platform built on first use by `build` and kept with it (the
        contexts the API builds lazily: CBDC, webhooks, the assistant). One per platform, so
        each tenant's database gets its own, and they go when the platform does."""
        with self._services_lock:
            found = self._services.get(name)
            if found is None:
                found = build(self)
                self._services[name] = found
        return found  # type: ignore[return-value]

    def verify_ledger(self, actor: str, expected_head: JournalHead | None = None) -> VerifyReport:
        """Re-derive the ledger from its records (`hazina.ledger.audit.verify`) on behalf of
        `actor`, and write the run to the audit log (`ledger.verified`: the head found, whether
        it passed, how many problems)."""
        report = verify(self.ledger.store, expected_head=expected_head)
        head = "" if report.head is None else str(report.head)
        self.identity.record(
            actor, "ledger.verified", head, ok=report.ok, problems=len(report.problems)
        )
        return report

    def close(self) -> None:
        self.ledger.close()


class ModelLoadError(RegistryError):
    """The registry's champion cannot serve: unreadable, or its features do not fit the
    platform (a saved rule uses a feature the champion's feature set lacks)."""

    code = "model_unusable"


class CreditModelLoadError(ModelLoadError):
    """The credit registry's champion cannot score loan applications."""


def build_platform(
    database: str = default_database,
    clock: Clock | None = None,
    currencies: tuple[str, ...] = ("KES",),
    model_registry: str | Path | None = None,
    credit_registry: str | Path | None = None,
) -> Platform:
    """Every service over `database`. With `model_registry`, the registry's champion scores
    payments, and the feature engine computes the champion's features (its feature config);
    a registry without a champion leaves screening to the rules. A champion that cannot be
    loaded is a `ModelLoadError` here, at start, never at payment time. With
    `credit_registry`, that registry's champion (a model over wallet-history features) scores
    loan applications; one that cannot is a `ModelLoadError` too."""
    clock = clock or SystemClock()
    ids = IdSource(clock)
    models = None if model_registry is None else ModelRegistry(Path(model_registry))
    scorer = None
    if models is not None and models.champion() is not None:
        try:
            scorer = models.scorer()
        except RegistryError as error:
            raise ModelLoadError(f"the champion model cannot be used: {error}") from error
    applicant_scorer = None
    if credit_registry is not None:
        from hazina.credit.applicant import champion_scorer  # pandas: only when asked for

        try:
            applicant_scorer = champion_scorer(Path(credit_registry))
        except RegistryError as error:
            raise CreditModelLoadError(f"the credit champion cannot be used: {error}") from error
    ledger = build_ledger(database, clock)
    try:
        risk = RiskService(
            ledger,
            clock,
            ids,
            scorer=scorer,
            feature_config=None if scorer is None else scorer.model.config,
        )
    except RuleError as error:
        ledger.close()
        raise ModelLoadError(
            f"model {scorer.version if scorer else '-'} does not fit this platform: {error}"
        ) from error
    payments = PaymentsService(ledger, clock, ids, risk=risk)
    for currency_code in currencies:
        payments.setup_currency(currency_code)
    identity = IdentityService(ledger, clock, ids)
    # Risk features live in memory: rebuild them from the last window of payments and the
    # labels kept for them.
    since_ns = clock.now_ns() - risk_history_window_s * 1_000_000_000
    risk.warm_up(
        payments.screened_history(since_ns, risk_warm_up_payments_max),
        risk.stored_labels(since_ns, risk_warm_up_payments_max),
    )
    cases = CaseService(ledger, ids)
    loans = LoansService(ledger, clock, ids, payments, score=applicant_scorer)
    return Platform(clock, ids, ledger, payments, identity, risk, cases, loans, models, database)
