"""Hypothesis over the loans service on SQLite: any sequence of days passing, end-of-day runs
(each run twice) and repayments conserves money and never posts twice."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.credit.loans.domain.schedule import interest_accrued_through
from hazina.credit.loans.service import LoansService
from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.service import LedgerService
from hazina.ledger.store.sqlite import SqliteLedgerStore
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import PaymentError
from hazina.payments.service import PaymentsService

KES = "KES"
AMOUNT = 1_000_000
PENALTY = 5_000


def _repay(loans: LoansService, loan_id: int, amount: int) -> str | None:
    """The refusal's code, or None when the repayment was taken."""
    try:
        loans.repay(loan_id, amount)
    except PaymentError as error:
        return error.code
    return None


steps = st.lists(
    st.one_of(
        st.tuples(st.just("days"), st.integers(min_value=0, max_value=45)),
        st.tuples(st.just("repay"), st.integers(min_value=1, max_value=1_400_000)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(InterestMethod)), st.integers(min_value=1, max_value=6), steps)
def test_any_sequence_conserves_money_and_never_posts_twice(
    method: InterestMethod, term: int, sequence: list[tuple[str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        clock = FixedClock(1_763_000_000 * 10**9)
        ledger = LedgerService(SqliteLedgerStore(Path(directory) / "l.sqlite3"), clock)
        try:
            ids = IdSource(clock, random.Random(3))
            payments = PaymentsService(ledger, clock, ids)
            payments.setup_currency(KES)
            loans = LoansService(ledger, clock, ids, payments)
            party = payments.register_party(
                PartyKind.customer, "A", [KES], phone="+254712000001", kyc_tier=KycTier.full
            )
            agent = payments.register_party(PartyKind.agent, "Ag", [KES], code="AG1")
            agent_wallet = payments.wallet_of(agent.id, KES).id
            payments.purchase_float(agent_wallet, 100_000_000, "float")
            wallet = payments.wallet_of(party.id, KES).id
            payments.cash_in(agent_wallet, wallet, 2_000_000, KES)
            product = loans.create_product(
                LoanProduct(
                    0,
                    "P",
                    KES,
                    1_000,
                    10_000_000,
                    1,
                    6,
                    30,
                    method,
                    700,
                    100,
                    0,
                    PENALTY,
                    3,
                    10_000,
                    0,
                ),
                "t",
            )
            loan = loans.disburse(loans.apply(party.id, product.id, AMOUNT, term).id)
            assert loan.disbursed_day is not None
            for kind, value in sequence:
                if kind == "days":
                    clock.advance_seconds(value * 86_400)
                    loans.close_day()
                    again = loans.close_day()
                    assert all(
                        (r.accrued, r.penalties, r.provision_change) == (0, 0, 0) for r in again
                    )
                else:
                    before = loans.view(loan.id)
                    refusal = _repay(loans, loan.id, value)
                    if refusal is not None:
                        assert refusal in (
                            "repayment_exceeds_outstanding",
                            "loan_not_active",
                            "insufficient_funds",
                        )
                        assert loans.view(loan.id).balances == before.balances
                view = loans.view(loan.id)
                repaid = loans.repayments(loan.id)
                accrued_through = view.loan.accrued_through
                assert accrued_through is not None
                assert view.balances.principal + sum(r.principal for r in repaid) == AMOUNT
                assert view.balances.interest + sum(r.interest for r in repaid) == (
                    interest_accrued_through(
                        view.loan.schedule, loan.disbursed_day, accrued_through
                    )
                )
                assert (view.balances.penalty + sum(r.penalty for r in repaid)) % PENALTY == 0
                totals = ledger.store.reader().fetch_all(
                    "SELECT sum(debits_posted), sum(credits_posted) FROM accounts"
                )
                assert int(totals[0][0]) == int(totals[0][1])
                if view.loan.status == "repaid":
                    assert view.balances.outstanding == 0
                    assert view.balances.allowance == 0
        finally:
            ledger.close()
