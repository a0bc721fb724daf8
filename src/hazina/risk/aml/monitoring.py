"""AML monitoring over the platform's own payments: scenarios in, cases out.

`scan_payments` reads the money that moved between wallets of one currency in the scan window
(`aml_scan_window_s`, long enough for the dormancy scenario), builds the transaction graph
(accounts are wallets, transactions are payment transactions), runs every scenario, keeps the
alerts whose subject is a monitored kind of party (customers: an agent's or merchant's wallet
is paid by many people by design, so fan-in there is its business, not a pattern) and opens
cases with `CaseService.open_cases(new_alerts_only=True)`: scanning the same payments again
opens nothing, and only new activity joins or reopens a case. `hazina serve` runs it every
`aml_scan_interval_s`; `hazina risk aml-scan` runs it once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_scan_transactions_max, aml_scan_window_s
from hazina.kernel.money import currency
from hazina.payments.service import MonitoredTransfer
from hazina.risk.aml.alerts import Alert
from hazina.risk.aml.cases import Case, CaseService
from hazina.risk.aml.graph import TransactionGraph
from hazina.risk.aml.scenarios import run_scenarios
from hazina.risk.aml.settings import ScenarioSettings

nanoseconds_per_second = 1_000_000_000
monitored_party_kinds = frozenset({"customer"})
scan_actor = "aml-monitor"  # who opened a case the scan opened


class TransferSource(Protocol):
    """Where a scan reads payments (the payments service)."""

    def monitored_transfers(
        self, currency_code: str, since_ns: int, limit: int = aml_scan_transactions_max
    ) -> list[MonitoredTransfer]: ...


@dataclass(frozen=True, slots=True)
class ScanReport:
    currency: str
    since_ns: int
    transactions: int  # payments in the graph
    accounts: int  # wallets in the graph
    alerts: int  # alerts on monitored accounts, new or seen before
    cases: tuple[Case, ...]  # cases opened, or joined by new alerts
    elapsed_s: float


def settings_for(currency_code: str) -> ScenarioSettings:
    """The default thresholds, with the currency's minor-unit digits for the sentences."""
    return ScenarioSettings(currency_digits=currency(currency_code).minor_units).validate()


def graph_of(transfers: Sequence[MonitoredTransfer]) -> TransactionGraph:
    return TransactionGraph.from_arrays(
        np.fromiter((t.transaction_id for t in transfers), np.int64, len(transfers)),
        np.fromiter((t.payer_wallet for t in transfers), np.int64, len(transfers)),
        np.fromiter((t.payee_wallet for t in transfers), np.int64, len(transfers)),
        np.fromiter((t.amount for t in transfers), np.int64, len(transfers)),
        np.fromiter((t.at_ns for t in transfers), np.int64, len(transfers)),
    )


def monitored_alerts(
    alerts: Sequence[Alert], transfers: Sequence[MonitoredTransfer]
) -> list[Alert]:
    """The alerts whose subject wallet belongs to a monitored kind of party."""
    kinds: dict[int, str] = {}
    for transfer in transfers:
        kinds[transfer.payer_wallet] = transfer.payer_kind
        kinds[transfer.payee_wallet] = transfer.payee_kind
    return [alert for alert in alerts if kinds.get(alert.account) in monitored_party_kinds]


def scan_payments(
    payments: TransferSource,
    cases: CaseService,
    currency_code: str,
    now_ns: int,
    *,
    window_s: int = aml_scan_window_s,
    settings: ScenarioSettings | None = None,
) -> ScanReport:
    """Run the scenarios over the last `window_s` of payments in `currency_code` and open
    cases for new alerts on monitored accounts."""
    invariant(0 < window_s <= aml_scan_window_s, "a scan window within the limit")
    started = time.perf_counter()
    since_ns = now_ns - window_s * nanoseconds_per_second
    transfers = payments.monitored_transfers(currency_code, since_ns)
    if not transfers:
        return ScanReport(currency_code, since_ns, 0, 0, 0, (), time.perf_counter() - started)
    graph = graph_of(transfers)
    alerts = monitored_alerts(
        run_scenarios(graph, settings or settings_for(currency_code)), transfers
    )
    opened = cases.open_cases(graph, alerts, currency_code, scan_actor, new_alerts_only=True)
    return ScanReport(
        currency=currency_code,
        since_ns=since_ns,
        transactions=graph.transaction_count,
        accounts=len(graph.accounts),
        alerts=len(alerts),
        cases=tuple(opened),
        elapsed_s=time.perf_counter() - started,
    )
