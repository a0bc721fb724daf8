"""Alternative data: credit features from a wallet's own history, for customers with no credit
file. Read through the payments service's public methods (`list_transactions`, `statement`),
never its tables.

Over a window (default 90 days) before `as_of_ns`, completed payments only:
- inflow regularity: the share of weeks with any money coming in, and the coefficient of
  variation of weekly inflow (low: a steady income);
- balance trend: the least-squares slope of the posted balance per day, relative to the mean
  balance (positive: saving);
- bill-payment punctuality: bills paid, and the coefficient of variation of the days between
  payments to the same biller (low: paid on a steady cycle);
- merchant diversity: distinct merchants paid, and merchant payments' share of outflow;
- P2P network: distinct P2P counterparties, and the share of them money went both ways with.
Missing quantities (a single bill, no inflow) are NaN, which both model families take as missing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import numpy as np

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_wallet_transactions_max, statement_page_max
from hazina.payments.records import PaymentTransaction, StatementEntry

nanoseconds_per_day = 86_400 * 10**9
default_window_days = 90
inflow_types = frozenset({"cash_in", "p2p", "bank_transfer_in", "voucher_claim"})


@dataclass(frozen=True, slots=True)
class WalletHistoryFeatures:
    inflow_weeks_share: float
    inflow_weekly_cv: float
    balance_trend_per_day: float
    bill_payments: int
    bill_interval_cv: float
    merchants_paid: int
    merchant_outflow_share: float
    p2p_counterparties: int
    p2p_reciprocity: float

    def to_row(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}


wallet_feature_names = tuple(field.name for field in fields(WalletHistoryFeatures))


def coefficient_of_variation(values: Sequence[float]) -> float:
    if len(values) < 2 or float(np.mean(values)) <= 0.0:
        return math.nan
    return float(np.std(values) / np.mean(values))


def history_features(
    wallet_id: int,
    transactions: Sequence[PaymentTransaction],
    statement: Sequence[StatementEntry],
    as_of_ns: int,
    window_days: int = default_window_days,
) -> WalletHistoryFeatures:
    """The features from a wallet's transactions and statement entries (any order)."""
    invariant(window_days >= 7, "a window of at least a week")
    start_ns = as_of_ns - window_days * nanoseconds_per_day
    done = [
        transaction
        for transaction in transactions
        if transaction.status == "completed" and start_ns <= transaction.created_at_ns < as_of_ns
    ]
    invariant(
        all(wallet_id in (each.payer_wallet, each.payee_wallet) for each in done), "the wallet's"
    )
    weeks = window_days // 7
    weekly_inflow = [0.0] * weeks
    outflow = 0
    merchant_outflow = 0
    merchants: set[int] = set()
    bills: dict[int, list[int]] = defaultdict(list)
    sent_to: set[int] = set()
    received_from: set[int] = set()
    for transaction in done:
        week = min(
            int((as_of_ns - transaction.created_at_ns) // (7 * nanoseconds_per_day)), weeks - 1
        )
        incoming = transaction.payee_wallet == wallet_id
        if incoming and transaction.type in inflow_types:
            weekly_inflow[week] += transaction.amount
        if not incoming:
            outflow += transaction.amount
        if transaction.type == "merchant_payment" and not incoming:
            merchants.add(transaction.payee_wallet)
            merchant_outflow += transaction.amount
        if transaction.type == "bill_payment" and not incoming:
            bills[transaction.payee_wallet].append(transaction.created_at_ns)
        if transaction.type == "p2p":
            if incoming:
                received_from.add(transaction.payer_wallet)
            else:
                sent_to.add(transaction.payee_wallet)
    intervals = [
        (later - earlier) / nanoseconds_per_day
        for times in bills.values()
        for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    counterparties = sent_to | received_from
    features = WalletHistoryFeatures(
        inflow_weeks_share=sum(1 for amount in weekly_inflow if amount > 0) / weeks,
        inflow_weekly_cv=coefficient_of_variation(weekly_inflow)
        if any(weekly_inflow)
        else math.nan,
        balance_trend_per_day=balance_trend(statement, start_ns, as_of_ns),
        bill_payments=sum(len(times) for times in bills.values()),
        bill_interval_cv=coefficient_of_variation(intervals),
        merchants_paid=len(merchants),
        merchant_outflow_share=merchant_outflow / outflow if outflow else math.nan,
        p2p_counterparties=len(counterparties),
        p2p_reciprocity=len(sent_to & received_from) / len(counterparties)
        if counterparties
        else math.nan,
    )
    invariant(0.0 <= features.inflow_weeks_share <= 1.0, "a share")
    return features


def balance_trend(statement: Sequence[StatementEntry], start_ns: int, as_of_ns: int) -> float:
    """Slope of the posted balance per day over the window, relative to its mean."""
    points = [
        (entry.timestamp_ns / nanoseconds_per_day, float(entry.balance_after))
        for entry in statement
        if not entry.pending and start_ns <= entry.timestamp_ns < as_of_ns
    ]
    if len({day for day, _ in points}) < 2:
        return math.nan
    days = np.array([day for day, _ in points])
    balances = np.array([balance for _, balance in points])
    slope = float(np.polyfit(days - days.mean(), balances, 1)[0])
    return slope / max(float(np.mean(np.abs(balances))), 1.0)


class WalletHistory(Protocol):
    """The payments service's public reads this module uses."""

    def list_transactions(
        self, wallet_id: int | None, after_id: int, limit: int, status: str | None = None
    ) -> list[PaymentTransaction]: ...

    def statement(
        self, wallet_id: int, after_timestamp_ns: int, limit: int
    ) -> list[StatementEntry]: ...


def wallet_history_features(
    payments: WalletHistory,
    wallet_id: int,
    as_of_ns: int,
    window_days: int = default_window_days,
) -> WalletHistoryFeatures:
    """Read a wallet's history through the payments service, page by page, and compute."""
    transactions: list[PaymentTransaction] = []
    after_id = 0
    while len(transactions) < credit_wallet_transactions_max:
        page = payments.list_transactions(wallet_id, after_id, statement_page_max, "completed")
        transactions.extend(page)
        if len(page) < statement_page_max:
            break
        after_id = page[-1].id
    start_ns = as_of_ns - window_days * nanoseconds_per_day
    entries: list[StatementEntry] = []
    after_ns = start_ns - 1
    while len(entries) < credit_wallet_transactions_max:
        chunk = payments.statement(wallet_id, after_ns, statement_page_max)
        entries.extend(chunk)
        if len(chunk) < statement_page_max:
            break
        after_ns = chunk[-1].timestamp_ns
    return history_features(wallet_id, transactions, entries, as_of_ns, window_days)
