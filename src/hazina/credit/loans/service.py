"""The loans service: products, decisions, disbursement, repayment, end of day, write-off.

Each write is one ledger unit of work (`LedgerService.run`): it reads the loan and its ledger
balances, checks status and amounts, posts one linked chain of ledger transfers, and writes the
loan's rows, an outbox event and the idempotency key in the same database transaction, so a
loan operation is applied whole or not at all. A status change is a conditional UPDATE (from
the status it was read in), so two racing disbursements cannot both post. Refusals are
`PaymentError`s with stable codes (the API maps them to problem+json); nothing of a refused
request is written.

Rules stated once here (docs/loans.md repeats them):
- Repayments go to penalties, then accrued interest, then principal. A repayment larger than
  what is owed now (principal + interest accrued so far + penalties) is refused with
  `repayment_exceeds_outstanding`; nothing is kept as credit. Paying what is owed closes the
  loan early, and interest not yet accrued is not charged.
- Accrual recognises each installment's contractual interest evenly over its period, one
  record per loan and day (primary key), so a second run for the same day is a no-op and a
  run after missed days catches up; a partial prepayment does not re-price the schedule.
- An installment unpaid more than `penalty_after_days` after it fell due is charged the
  product's `penalty_fee` once (one record per loan and installment).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from hazina.credit.loans.domain.arrears import (
    ProvisioningPolicy,
    allocate_repayment,
    days_past_due,
    expected_credit_loss,
    overdue_installments,
    stage_of,
    write_off_pieces,
)
from hazina.credit.loans.domain.chart import (
    LoanAccountCode,
    LoanAccountKind,
    LoanTransferCode,
    OperatorLoanAccount,
    loan_account_codes,
    loan_account_flags,
    operator_account_flags,
)
from hazina.credit.loans.domain.products import (
    LoanProduct,
    ProductError,
    check_application,
    validate_product,
)
from hazina.credit.loans.domain.schedule import accrual_for_days, build_schedule, due_through
from hazina.credit.loans.records import (
    LOAN_COLUMNS,
    REPAYMENT_COLUMNS,
    ApplicationRecord,
    CreditAssessment,
    DayResult,
    Loan,
    LoanBalances,
    LoanView,
    Repayment,
    loan_from_row,
    product_from_json,
    product_to_json,
    repayment_from_row,
    schedule_to_json,
)
from hazina.credit.loans.schema import SCHEMA
from hazina.credit.wallet import wallet_history_features
from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    loan_accrual_catch_up_days_max,
    loan_active_per_customer_max,
    loan_close_day_batch_max,
    loan_page_max,
    loan_sweep_events_max,
)
from hazina.ledger.domain.flags import TransferFlags
from hazina.ledger.domain.model import Account, AccountRequest, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession
from hazina.payments.domain.chart import PartyKind, ledger_of
from hazina.payments.errors import (
    PaymentError,
    conflict,
    invalid,
    not_found,
    refused,
)
from hazina.payments.service import (
    IdempotencyRequest,
    PaymentsService,
    check_idempotency,
    store_idempotency,
    write_outbox,
)

_KEYS = "loan_idempotency_keys"  # loans keep their Idempotency-Keys apart from payments'

_day_ns = 86_400 * 1_000_000_000
_T = TypeVar("_T")

# A score function: the applicant's wallet-history features (None where undefined) -> the
# credit model's assessment (`hazina.credit.applicant.ApplicantScorer`). Without one, decisions
# rest on the policy rules alone, and the features are still recorded for training.
ScoreFunction = Callable[[Mapping[str, float | None]], CreditAssessment]


def day_of(at_ns: int) -> int:
    """The UTC day (days since 1970-01-01) a moment falls in."""
    return at_ns // _day_ns


@dataclass(frozen=True, slots=True)
class _Leg:
    debit: int
    credit: int
    amount: int
    code: LoanTransferCode


class LoansService:
    """Loans over the ledger, next to payments (whose wallets they pay into and out of)."""

    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        payments: PaymentsService,
        score: ScoreFunction | None = None,
        policy: ProvisioningPolicy | None = None,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._payments = payments
        self.score = score
        self._policy = policy or ProvisioningPolicy()
        self._operator: dict[str, dict[OperatorLoanAccount, int]] = {}
        ledger.store.ensure_schema("loans", SCHEMA)

    # -- products ------------------------------------------------------------------------------

    def create_product(self, product: LoanProduct, created_by: str) -> LoanProduct:
        """Offer a product; its id is assigned here (the one given is ignored)."""
        product = replace(product, id=self._ids.next_id())
        try:
            validate_product(product)
        except ProductError as error:
            raise invalid(error.code, str(error)) from None
        operator = self._operator_accounts(product.currency)
        invariant(len(operator) == len(OperatorLoanAccount), "every operator account exists")

        def work(unit: LedgerUnit) -> LoanProduct:
            if unit.sql.fetch_one("SELECT 1 FROM loan_products WHERE name = ?", (product.name,)):
                raise conflict("product_name_taken", f"a product is already named {product.name}")
            unit.sql.execute(
                "INSERT INTO loan_products (id, name, currency, body, created_by, created_at_ns)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    product.id,
                    product.name,
                    product.currency,
                    product_to_json(product),
                    created_by,
                    unit.now_ns,
                ),
            )
            write_outbox(
                unit, self._ids, "loan_product.created", str(product.id), {"id": product.id}
            )
            return product

        return self._ledger.run(work)

    def get_product(self, product_id: int) -> LoanProduct:
        row = self._reader().fetch_one("SELECT body FROM loan_products WHERE id = ?", (product_id,))
        if row is None:
            raise not_found("product_not_found", f"no loan product has the id {product_id}")
        return product_from_json(row[0])

    def list_products(self, after_id: int = 0, limit: int = loan_page_max) -> list[LoanProduct]:
        rows = self._reader().fetch_all(
            "SELECT body FROM loan_products WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, min(limit, loan_page_max)),
        )
        return [product_from_json(row[0]) for row in rows]

    def _operator_accounts(self, currency_code: str) -> dict[OperatorLoanAccount, int]:
        """The operator's loan income and expense accounts in a currency (created once)."""
        accounts = self._operator.get(currency_code)
        if accounts is not None:
            return accounts
        try:
            ledger = ledger_of(currency_code)
        except Exception:
            raise invalid("currency_unknown", f"{currency_code} is not a currency") from None

        def work(unit: LedgerUnit) -> dict[OperatorLoanAccount, int]:
            found = {
                OperatorLoanAccount(kind): int(account_id)
                for kind, account_id in unit.sql.fetch_all(
                    "SELECT kind, account_id FROM loan_operator_accounts WHERE currency = ?",
                    (currency_code,),
                )
            }
            for kind in OperatorLoanAccount:
                if kind in found:
                    continue
                account_id = self._ids.next_id()
                results = unit.create_accounts(
                    [
                        AccountRequest(
                            account_id,
                            ledger,
                            int(LoanAccountCode[kind.value]),
                            flags=operator_account_flags(kind),
                        )
                    ]
                )
                invariant(results == [], "a fresh account id is always accepted")
                unit.sql.execute(
                    "INSERT INTO loan_operator_accounts (currency, kind, account_id)"
                    " VALUES (?, ?, ?)",
                    (currency_code, kind.value, account_id),
                )
                found[kind] = account_id
            return found

        accounts = self._ledger.run(work)
        self._operator[currency_code] = accounts
        return accounts

    # -- application and decision --------------------------------------------------------------

    def apply(self, party_id: int, product_id: int, amount: int, term: int) -> Loan:
        """Decide an application now. Outside the product's ranges is an error (nothing is
        recorded); a policy or score refusal is a recorded `declined` loan with its reasons."""
        product = self.get_product(product_id)
        outside = check_application(product, amount, term)
        if outside is not None:
            raise invalid(outside[0], outside[1], product_id=product_id)
        party = self._payments.get_party(party_id)
        if party.kind is not PartyKind.customer:
            raise invalid("borrower_not_customer", "only customers borrow")
        wallet = self._payments.wallet_of(party_id, product.currency)
        reasons: list[str] = []
        if party.status != "active":
            reasons.append(f"party_{party.status}")
        if int(party.kyc_tier) < product.min_kyc_tier:
            reasons.append("kyc_tier_too_low")
        history = wallet_history_features(self._payments, wallet.id, self._clock.now_ns())
        features = {
            name: None if math.isnan(value) else value for name, value in history.to_row().items()
        }
        assessment = self.score(features) if self.score is not None else None
        default_bps = None if assessment is None else assessment.default_bps
        if default_bps is not None and default_bps > product.max_default_probability_bps:
            reasons.append("score_below_cutoff")
        loan_id = self._ids.next_id()

        def work(unit: LedgerUnit) -> Loan:
            live = unit.sql.fetch_one(
                "SELECT count(*) FROM loans WHERE party_id = ?"
                " AND status IN ('approved', 'active')",
                (party_id,),
            )
            decided = list(reasons)
            if live is not None and int(live[0]) >= loan_active_per_customer_max:
                decided.append("active_loan_limit")
            loan = Loan(
                loan_id,
                party_id,
                product_id,
                product.currency,
                amount,
                term,
                "declined" if decided else "approved",
                tuple(decided),
                default_bps,
                wallet.id,
                product.upfront_fee(amount),
                None,
                (),
                None,
                0,
                1,
                None,
                None,
                None,
                None,
                0,
                unit.now_ns,
                unit.now_ns,
            )
            _insert_loan(unit.sql, loan)
            _insert_application(unit.sql, ApplicationRecord(loan_id, features, assessment))
            write_outbox(
                unit,
                self._ids,
                f"loan.{loan.status}",
                str(loan_id),
                {"loan_id": loan_id, "party_id": party_id, "amount": amount, "reasons": decided},
            )
            return loan

        return self._ledger.run(work)

    # -- disbursement --------------------------------------------------------------------------

    def disburse(self, loan_id: int, idempotency: IdempotencyRequest | None = None) -> Loan:
        """Pay an approved loan into the borrower's wallet, less the upfront fee. A second
        disbursement is refused (`loan_already_disbursed`), never posted."""
        loan = self.get_loan(loan_id)
        if loan.status == "approved":
            self._check_wallet_usable(loan)
        operator = self._operator_accounts(loan.currency)
        product = self.get_product(loan.product_id)
        ledger = ledger_of(loan.currency)

        def work(unit: LedgerUnit) -> Loan | PaymentError:
            if idempotency is not None:
                check_idempotency(unit.sql, idempotency, _KEYS)
            current = _loan_in(unit.sql, loan_id)
            if current.status != "approved":
                return _not_disbursable(current)
            accounts = {kind: self._ids.next_id() for kind in LoanAccountKind}
            results = unit.create_accounts(
                [
                    AccountRequest(
                        accounts[kind],
                        ledger,
                        int(loan_account_codes[kind]),
                        flags=loan_account_flags(kind),
                        user_data_64=loan_id,
                    )
                    for kind in LoanAccountKind
                ]
            )
            invariant(results == [], "fresh account ids are always accepted")
            legs = [
                _Leg(
                    accounts[LoanAccountKind.principal],
                    current.wallet_id,
                    current.amount,
                    LoanTransferCode.disbursement,
                )
            ]
            if current.fee:
                legs.append(
                    _Leg(
                        current.wallet_id,
                        operator[OperatorLoanAccount.loan_fee_income],
                        current.fee,
                        LoanTransferCode.disbursement_fee,
                    )
                )
            transfer_ids = self._post(unit, legs, ledger, loan_id)
            if isinstance(transfer_ids, PaymentError):
                return transfer_ids
            today = day_of(unit.now_ns)
            schedule = build_schedule(
                current.amount,
                current.term,
                product.rate_bps,
                product.method,
                today,
                product.period_days,
                product.grace_installments,
            )
            changed = unit.sql.execute(
                "UPDATE loans SET status = 'active', disbursed_day = ?, schedule = ?,"
                " accrued_through = ?, principal_account = ?, interest_account = ?,"
                " penalty_account = ?, allowance_account = ?, updated_at_ns = ?"
                " WHERE id = ? AND status = 'approved'",
                (
                    today,
                    schedule_to_json(schedule),
                    today,
                    accounts[LoanAccountKind.principal],
                    accounts[LoanAccountKind.interest],
                    accounts[LoanAccountKind.penalty],
                    accounts[LoanAccountKind.allowance],
                    unit.now_ns,
                    loan_id,
                ),
            )
            invariant(changed == 1, "the loan was read as approved in this transaction")
            disbursed = _loan_in(unit.sql, loan_id)
            write_outbox(
                unit,
                self._ids,
                "loan.disbursed",
                str(loan_id),
                {"loan_id": loan_id, "amount": loan.amount, "fee": loan.fee, "legs": transfer_ids},
            )
            store_idempotency(unit, idempotency, disbursed, _KEYS)
            return disbursed

        return _raise_or_return(self._ledger.run(work))

    # -- repayment and recovery ----------------------------------------------------------------

    def repay(
        self, loan_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Repayment:
        """Take a repayment from the borrower's wallet (penalties, interest, then principal)."""
        if type(amount) is not int or amount <= 0:
            raise invalid("amount_invalid", "the amount must be a positive number of minor units")
        loan = self.get_loan(loan_id)
        self._check_wallet_usable(loan)
        ledger = ledger_of(loan.currency)

        def work(unit: LedgerUnit) -> Repayment | PaymentError:
            if idempotency is not None:
                check_idempotency(unit.sql, idempotency, _KEYS)
            current = _loan_in(unit.sql, loan_id)
            if current.status != "active":
                return conflict("loan_not_active", f"a {current.status} loan takes no repayments")
            balances = _balances(unit.lookup_accounts(current.account_ids()), current)
            if amount > balances.outstanding:
                return refused(
                    "repayment_exceeds_outstanding",
                    f"the loan owes {balances.outstanding} minor units now; pay at most that",
                    outstanding=balances.outstanding,
                )
            repayment = self._take(unit, current, amount, balances, ledger, "loan.repayment")
            if isinstance(repayment, PaymentError):
                return repayment
            store_idempotency(unit, idempotency, repayment, _KEYS)
            return repayment

        return _raise_or_return(self._ledger.run(work))

    def recover(
        self, loan_id: int, amount: int, idempotency: IdempotencyRequest | None = None
    ) -> Repayment:
        """Money collected on a written-off loan: from the wallet to recovery income, up to
        what was written off less what was recovered before."""
        if type(amount) is not int or amount <= 0:
            raise invalid("amount_invalid", "the amount must be a positive number of minor units")
        loan = self.get_loan(loan_id)
        self._check_wallet_usable(loan)
        operator = self._operator_accounts(loan.currency)
        ledger = ledger_of(loan.currency)

        def work(unit: LedgerUnit) -> Repayment | PaymentError:
            if idempotency is not None:
                check_idempotency(unit.sql, idempotency, _KEYS)
            current = _loan_in(unit.sql, loan_id)
            if current.status != "written_off":
                return conflict("loan_not_written_off", "only written-off loans are recovered")
            recovered = _sum_repaid(unit.sql, loan_id, "recovery")
            if amount > current.written_off - recovered:
                return refused(
                    "recovery_exceeds_written_off",
                    f"{current.written_off - recovered} minor units remain to recover",
                    recoverable=current.written_off - recovered,
                )
            legs = [
                _Leg(
                    current.wallet_id,
                    operator[OperatorLoanAccount.recovery_income],
                    amount,
                    LoanTransferCode.recovery,
                )
            ]
            transfer_ids = self._post(unit, legs, ledger, loan_id)
            if isinstance(transfer_ids, PaymentError):
                return transfer_ids
            repayment = Repayment(
                self._ids.next_id(),
                loan_id,
                "recovery",
                amount,
                0,
                0,
                0,
                tuple(transfer_ids),
                unit.now_ns,
            )
            _insert_repayment(unit.sql, repayment)
            write_outbox(
                unit,
                self._ids,
                "loan.recovery",
                str(loan_id),
                {"loan_id": loan_id, "amount": amount},
            )
            store_idempotency(unit, idempotency, repayment, _KEYS)
            return repayment

        return _raise_or_return(self._ledger.run(work))

    def _take(
        self,
        unit: LedgerUnit,
        current: Loan,
        amount: int,
        balances: LoanBalances,
        ledger: int,
        event: str,
    ) -> Repayment | PaymentError:
        """Post one repayment of at most what is owed, record it, close a loan paid off."""
        loan_id = current.id
        allocation = allocate_repayment(
            amount, balances.penalty, balances.interest, balances.principal
        )
        principal, interest, penalty, _ = current.account_ids()
        legs = [
            _Leg(current.wallet_id, account, part, LoanTransferCode.repayment)
            for account, part in (
                (penalty, allocation.penalty),
                (interest, allocation.interest),
                (principal, allocation.principal),
            )
            if part
        ]
        transfer_ids = self._post(unit, legs, ledger, loan_id)
        if isinstance(transfer_ids, PaymentError):
            return transfer_ids
        repayment = Repayment(
            self._ids.next_id(),
            loan_id,
            "repayment",
            amount,
            allocation.penalty,
            allocation.interest,
            allocation.principal,
            tuple(transfer_ids),
            unit.now_ns,
        )
        _insert_repayment(unit.sql, repayment)
        if amount == balances.outstanding:
            unit.sql.execute(
                "UPDATE loans SET status = 'repaid', updated_at_ns = ? WHERE id = ?",
                (unit.now_ns, loan_id),
            )
            self._release_allowance(unit, current, ledger, balances.allowance)
        write_outbox(
            unit,
            self._ids,
            "loan.repaid" if amount == balances.outstanding else event,
            str(loan_id),
            {"loan_id": loan_id, "repayment_id": repayment.id, "amount": amount},
        )
        return repayment

    def sweep(self, loan_id: int) -> Repayment | None:
        """Collect what is due and unpaid (installments due by today, and penalties) from the
        borrower's wallet, as much as the wallet holds; None when nothing is due or the wallet
        is empty, frozen or closed. Running it again collects only what is still due."""
        loan = self.get_loan(loan_id)
        if loan.status != "active" or self._payments.get_party(loan.party_id).status != "active":
            return None
        ledger = ledger_of(loan.currency)

        def work(unit: LedgerUnit) -> Repayment | PaymentError | None:
            current = _loan_in(unit.sql, loan_id)
            if current.status != "active":
                return None
            balances = _balances(unit.lookup_accounts(current.account_ids()), current)
            due = due_through(current.schedule, day_of(unit.now_ns)) - _covered(unit.sql, loan_id)
            wallet = unit.lookup_accounts([current.wallet_id])[current.wallet_id]
            available = wallet.credits_posted - wallet.debits_posted - wallet.debits_pending
            amount = min(max(0, due) + balances.penalty, balances.outstanding, available)
            if amount <= 0:
                return None
            return self._take(unit, current, amount, balances, ledger, "loan.swept")

        result = self._ledger.run(work)
        if isinstance(result, PaymentError):
            raise result
        return result

    def sweep_inflows(self, limit: int = loan_sweep_events_max) -> list[Repayment]:
        """Sweep the loans of wallets that received money since the last call: reads the
        platform's outbox after a stored cursor (`transaction.completed` events' payees)."""
        row = self._reader().fetch_one("SELECT after_id FROM loan_sweep_cursor WHERE id = 1")
        after = 0 if row is None else int(row[0])
        events = self._payments.outbox_after(after, limit)
        if not events:
            return []
        wallets = sorted(
            {
                int(payload["payee_wallet"])
                for _, event_type, _, payload, _ in events
                if event_type == "transaction.completed" and "payee_wallet" in payload
            }
        )
        loan_ids: list[int] = []
        reader = self._reader()
        for wallet_id in wallets:
            loan_ids += [
                int(r[0])
                for r in reader.fetch_all(
                    "SELECT id FROM loans WHERE wallet_id = ? AND status = 'active'",
                    (wallet_id,),
                )
            ]
        swept = [r for r in (self.sweep(loan_id) for loan_id in loan_ids) if r is not None]
        last = events[-1][0]

        def advance(unit: LedgerUnit) -> None:
            unit.sql.execute(
                "INSERT INTO loan_sweep_cursor (id, after_id) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET after_id = excluded.after_id"
                " WHERE loan_sweep_cursor.after_id < excluded.after_id",
                (last,),
            )

        self._ledger.run(advance)
        invariant(all(r.amount > 0 for r in swept), "a sweep takes something or nothing")
        return swept

    def _check_wallet_usable(self, loan: Loan) -> None:
        party = self._payments.get_party(loan.party_id)
        if party.status != "active":
            raise refused(f"wallet_{party.status}", f"the borrower's wallet is {party.status}")

    # -- end of day: accrual, penalties, ageing, provisioning ----------------------------------

    def close_day(self, day: int | None = None) -> list[DayResult]:
        """Accrue interest through `day` (default: today), catching up missed days, charge
        penalties, age arrears and set each loan's allowance to its ECL. Idempotent: a second
        run for the same day posts nothing."""
        today = day_of(self._clock.now_ns())
        day = today if day is None else day
        if day > today:
            raise invalid("day_in_future", f"day {day} has not ended yet (today is {today})")
        results: list[DayResult] = []
        after = 0
        while True:
            rows = self._reader().fetch_all(
                "SELECT id FROM loans WHERE status = 'active' AND id > ? ORDER BY id LIMIT ?",
                (after, loan_close_day_batch_max),
            )
            for (loan_id,) in rows:
                results.append(self.close_loan_day(int(loan_id), day))
            if len(rows) < loan_close_day_batch_max:
                return results
            after = int(rows[-1][0])

    def close_loan_day(self, loan_id: int, day: int) -> DayResult:
        """The end-of-day work for one loan, in one unit of work."""
        loan = self.get_loan(loan_id)
        operator = self._operator_accounts(loan.currency)
        product = self.get_product(loan.product_id)
        ledger = ledger_of(loan.currency)

        def work(unit: LedgerUnit) -> DayResult:
            current = _loan_in(unit.sql, loan_id)
            if current.status != "active":
                return DayResult(loan_id, 0, 0, 0, current.days_past_due, current.stage, 0, 0)
            invariant(current.disbursed_day is not None, "an active loan was disbursed")
            assert current.disbursed_day is not None
            assert current.accrued_through is not None
            if day < current.accrued_through:  # that day was closed: ageing never goes back
                return DayResult(loan_id, 0, 0, 0, current.days_past_due, current.stage, 0, 0)
            _, interest, penalty, allowance = current.account_ids()
            first = current.accrued_through + 1
            last = min(day, current.accrued_through + loan_accrual_catch_up_days_max)
            accrued, accrued_days = 0, 0
            if first <= last:
                days = accrual_for_days(current.schedule, current.disbursed_day, first, last)
                accrued = sum(amount for _, amount in days)
                transfer_id = None
                if accrued:
                    posted = self._post(
                        unit,
                        [
                            _Leg(
                                interest,
                                operator[OperatorLoanAccount.interest_income],
                                accrued,
                                LoanTransferCode.accrual,
                            )
                        ],
                        ledger,
                        loan_id,
                    )
                    invariant(not isinstance(posted, PaymentError), "accrual always posts")
                    assert not isinstance(posted, PaymentError)
                    transfer_id = posted[0]
                for accrual_day, amount in days:
                    unit.sql.execute(
                        "INSERT INTO loan_accruals (loan_id, day, amount, transfer_id)"
                        " VALUES (?, ?, ?, ?)",
                        (loan_id, accrual_day, amount, transfer_id),
                    )
                accrued_days = len(days)
                changed = unit.sql.execute(
                    "UPDATE loans SET accrued_through = ? WHERE id = ? AND accrued_through = ?",
                    (last, loan_id, current.accrued_through),
                )
                invariant(changed == 1, "accrual moves forward from where it was read")
            covered = _covered(unit.sql, loan_id)
            penalties = 0
            if product.penalty_fee:
                charged = {
                    int(row[0])
                    for row in unit.sql.fetch_all(
                        "SELECT installment FROM loan_penalties WHERE loan_id = ?", (loan_id,)
                    )
                }
                for number in overdue_installments(
                    current.schedule, covered, day, product.penalty_after_days
                ):
                    if number in charged:
                        continue
                    posted = self._post(
                        unit,
                        [
                            _Leg(
                                penalty,
                                operator[OperatorLoanAccount.loan_fee_income],
                                product.penalty_fee,
                                LoanTransferCode.penalty,
                            )
                        ],
                        ledger,
                        loan_id,
                    )
                    assert not isinstance(posted, PaymentError)
                    unit.sql.execute(
                        "INSERT INTO loan_penalties (loan_id, installment, amount, day,"
                        " transfer_id) VALUES (?, ?, ?, ?, ?)",
                        (loan_id, number, product.penalty_fee, day, posted[0]),
                    )
                    penalties += product.penalty_fee
            past_due = days_past_due(current.schedule, covered, day)
            stage = stage_of(past_due)
            balances = _balances(unit.lookup_accounts(current.account_ids()), current)
            target = expected_credit_loss(balances.outstanding, stage, self._policy)
            change = target - balances.allowance
            if change:
                expense = operator[OperatorLoanAccount.provision_expense]
                leg = (
                    _Leg(expense, allowance, change, LoanTransferCode.provision)
                    if change > 0
                    else _Leg(allowance, expense, -change, LoanTransferCode.provision)
                )
                posted = self._post(unit, [leg], ledger, loan_id)
                assert not isinstance(posted, PaymentError)
            unit.sql.execute(
                "UPDATE loans SET days_past_due = ?, stage = ?, updated_at_ns = ? WHERE id = ?",
                (past_due, stage, unit.now_ns, loan_id),
            )
            if accrued or penalties or change or stage != current.stage:
                write_outbox(
                    unit,
                    self._ids,
                    "loan.day_closed",
                    str(loan_id),
                    {
                        "loan_id": loan_id,
                        "day": day,
                        "accrued": accrued,
                        "penalties": penalties,
                        "days_past_due": past_due,
                        "stage": stage,
                        "allowance": target,
                    },
                )
            return DayResult(
                loan_id, accrued, accrued_days, penalties, past_due, stage, target, change
            )

        return self._ledger.run(work)

    # -- write-off -----------------------------------------------------------------------------

    def write_off(self, loan_id: int, idempotency: IdempotencyRequest | None = None) -> Loan:
        """Take a credit-impaired (stage 3) loan off the books: its allowance first, then the
        write-off expense, cover every receivable; any allowance left is released."""
        loan = self.get_loan(loan_id)
        operator = self._operator_accounts(loan.currency)
        ledger = ledger_of(loan.currency)

        def work(unit: LedgerUnit) -> Loan | PaymentError:
            if idempotency is not None:
                check_idempotency(unit.sql, idempotency, _KEYS)
            current = _loan_in(unit.sql, loan_id)
            if current.status != "active":
                return conflict("loan_not_active", f"a {current.status} loan cannot be written off")
            if current.stage != 3:
                return conflict(
                    "loan_not_impaired",
                    f"only stage 3 loans (more than 90 days past due) are written off;"
                    f" this one is in stage {current.stage}",
                )
            principal, interest, penalty, allowance = current.account_ids()
            balances = _balances(unit.lookup_accounts(current.account_ids()), current)
            pieces, left = write_off_pieces(
                balances.allowance, balances.principal, balances.interest, balances.penalty
            )
            targets = {"principal": principal, "interest": interest, "penalty": penalty}
            sources = {
                "allowance": allowance,
                "expense": operator[OperatorLoanAccount.write_off_expense],
            }
            legs = [
                _Leg(sources[p.source], targets[p.target], p.amount, LoanTransferCode.write_off)
                for p in pieces
            ]
            if left:
                legs.append(
                    _Leg(
                        allowance,
                        operator[OperatorLoanAccount.provision_expense],
                        left,
                        LoanTransferCode.provision,
                    )
                )
            if legs:
                posted = self._post(unit, legs, ledger, loan_id)
                if isinstance(posted, PaymentError):
                    return posted
            unit.sql.execute(
                "UPDATE loans SET status = 'written_off', written_off = ?, updated_at_ns = ?"
                " WHERE id = ? AND status = 'active'",
                (balances.outstanding, unit.now_ns, loan_id),
            )
            write_outbox(
                unit,
                self._ids,
                "loan.written_off",
                str(loan_id),
                {"loan_id": loan_id, "amount": balances.outstanding},
            )
            written_off = _loan_in(unit.sql, loan_id)
            store_idempotency(unit, idempotency, written_off, _KEYS)
            return written_off

        return _raise_or_return(self._ledger.run(work))

    def _release_allowance(
        self, unit: LedgerUnit, loan: Loan, ledger: int, allowance_balance: int
    ) -> None:
        """A repaid loan needs no allowance: give it back to the provision expense."""
        if allowance_balance:
            operator = self._operator_accounts(loan.currency)
            posted = self._post(
                unit,
                [
                    _Leg(
                        loan.account_ids()[3],
                        operator[OperatorLoanAccount.provision_expense],
                        allowance_balance,
                        LoanTransferCode.provision,
                    )
                ],
                ledger,
                loan.id,
            )
            invariant(not isinstance(posted, PaymentError), "an allowance can be released")

    # -- reads ---------------------------------------------------------------------------------

    def get_loan(self, loan_id: int) -> Loan:
        return _loan_in(self._reader(), loan_id)

    def view(self, loan_id: int) -> LoanView:
        loan = self.get_loan(loan_id)
        if loan.principal_account is None:
            balances = LoanBalances(0, 0, 0, 0)
        else:
            accounts = {a.id: a for a in self._ledger.lookup_accounts(list(loan.account_ids()))}
            balances = _balances(accounts, loan)
        reader = self._reader()
        application = self.application(loan_id)
        return LoanView(
            loan,
            balances,
            _sum_repaid(reader, loan_id, "repayment"),
            _sum_repaid(reader, loan_id, "recovery"),
            None if application is None else application.assessment,
        )

    def application(self, loan_id: int) -> ApplicationRecord | None:
        """The features and assessment a decision rested on (None for loans decided before
        applications were recorded)."""
        row = self._reader().fetch_one(
            f"SELECT {_APPLICATION_COLUMNS} FROM loan_applications WHERE loan_id = ?", (loan_id,)
        )
        return None if row is None else _application_from_row(row)

    def training_rows(
        self, after_id: int = 0, limit: int = loan_page_max
    ) -> list[tuple[ApplicationRecord, int]]:
        """Applications whose loans have an outcome, with it: 1 (defaulted) for a loan written
        off or in stage 3 (more than 90 days past due, or as the policy says), 0 for one repaid
        in full. Loans still running in stage 1-2, approved but not disbursed, or declined have
        no outcome yet and are left out. In loan id order, from `after_id`."""
        rows = self._reader().fetch_all(
            f"SELECT {_APPLICATION_COLUMNS}, outcome FROM loan_applications JOIN"
            " (SELECT id, CASE WHEN status = 'repaid' THEN 0 ELSE 1 END AS outcome FROM loans"
            "  WHERE status IN ('repaid', 'written_off') OR (status = 'active' AND stage = 3))"
            " AS decided ON decided.id = loan_id"
            " WHERE loan_id > ? ORDER BY loan_id LIMIT ?",
            (after_id, limit),
        )
        return [(_application_from_row(row[:-1]), int(row[-1])) for row in rows]

    def list_loans(
        self, party_id: int | None = None, after_id: int = 0, limit: int = loan_page_max
    ) -> list[Loan]:
        where, parameters = "WHERE id > ?", [after_id]
        if party_id is not None:
            where += " AND party_id = ?"
            parameters.append(party_id)
        rows = self._reader().fetch_all(
            f"SELECT {LOAN_COLUMNS} FROM loans {where} ORDER BY id LIMIT ?",
            (*parameters, min(limit, loan_page_max)),
        )
        return [loan_from_row(row) for row in rows]

    def repayments(self, loan_id: int) -> list[Repayment]:
        rows = self._reader().fetch_all(
            f"SELECT {REPAYMENT_COLUMNS} FROM loan_repayments WHERE loan_id = ? ORDER BY id",
            (loan_id,),
        )
        return [repayment_from_row(row) for row in rows]

    def _reader(self) -> SqlSession:
        return self._ledger.store.reader()

    def _post(
        self, unit: LedgerUnit, legs: list[_Leg], ledger: int, loan_id: int
    ) -> list[int] | PaymentError:
        """One linked chain; the ledger's refusal becomes the reason a person would give."""
        invariant(bool(legs) and all(leg.amount > 0 for leg in legs), "no empty chains or legs")
        requests = [
            TransferRequest(
                self._ids.next_id(),
                leg.debit,
                leg.credit,
                leg.amount,
                ledger,
                int(leg.code),
                flags=int(TransferFlags.linked if index < len(legs) - 1 else TransferFlags.none),
                user_data_64=loan_id,
            )
            for index, leg in enumerate(legs)
        ]
        results = unit.create_transfers(requests)
        if not results:
            return [r.id for r in requests]
        causes = [
            CreateTransferStatus(r.status)
            for r in results
            if CreateTransferStatus(r.status) is not CreateTransferStatus.linked_event_failed
        ]
        if causes and causes[0] is CreateTransferStatus.exceeds_credits:
            return refused("insufficient_funds", "the wallet's balance does not cover this")
        return conflict("ledger_refused", f"the ledger refused the posting: {causes}")


# -- helpers ------------------------------------------------------------------------------------


def _raise_or_return(result: _T | PaymentError) -> _T:
    if isinstance(result, PaymentError):
        raise result
    return result


def _not_disbursable(loan: Loan) -> PaymentError:
    if loan.status == "declined":
        return conflict("loan_declined", "a declined application is not disbursed")
    return conflict(
        "loan_already_disbursed", f"this loan was disbursed already (it is {loan.status})"
    )


def _loan_in(sql: SqlSession, loan_id: int) -> Loan:
    row = sql.fetch_one(f"SELECT {LOAN_COLUMNS} FROM loans WHERE id = ?", (loan_id,))
    if row is None:
        raise not_found("loan_not_found", f"no loan has the id {loan_id}")
    return loan_from_row(row)


def _balances(accounts: dict[int, Account], loan: Loan) -> LoanBalances:
    principal, interest, penalty, allowance = (accounts[i] for i in loan.account_ids())
    balances = LoanBalances(
        principal.debits_posted - principal.credits_posted,
        interest.debits_posted - interest.credits_posted,
        penalty.debits_posted - penalty.credits_posted,
        allowance.credits_posted - allowance.debits_posted,
    )
    invariant(min(balances.principal, balances.interest, balances.penalty) >= 0, "owed >= 0")
    invariant(balances.allowance >= 0, "an allowance is never negative")
    return balances


def _covered(sql: SqlSession, loan_id: int) -> int:
    """Interest and principal repaid: what pays installments off (penalties do not)."""
    row = sql.fetch_one(
        "SELECT coalesce(sum(interest + principal), 0) FROM loan_repayments"
        " WHERE loan_id = ? AND kind = 'repayment'",
        (loan_id,),
    )
    return 0 if row is None else int(row[0])


def _sum_repaid(sql: SqlSession, loan_id: int, kind: str) -> int:
    row = sql.fetch_one(
        "SELECT coalesce(sum(amount), 0) FROM loan_repayments WHERE loan_id = ? AND kind = ?",
        (loan_id, kind),
    )
    return 0 if row is None else int(row[0])


def _insert_loan(sql: SqlSession, loan: Loan) -> None:
    sql.execute(
        f"INSERT INTO loans ({LOAN_COLUMNS}) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            loan.id,
            loan.party_id,
            loan.product_id,
            loan.currency,
            loan.amount,
            loan.term,
            loan.status,
            json.dumps(list(loan.reasons)),
            loan.default_bps,
            loan.wallet_id,
            loan.fee,
            loan.disbursed_day,
            schedule_to_json(loan.schedule),
            loan.accrued_through,
            loan.days_past_due,
            loan.stage,
            loan.principal_account,
            loan.interest_account,
            loan.penalty_account,
            loan.allowance_account,
            loan.written_off,
            loan.created_at_ns,
            loan.updated_at_ns,
        ),
    )


_APPLICATION_COLUMNS = "loan_id, features, model_version, default_bps, score, score_reasons"


def _insert_application(sql: SqlSession, record: ApplicationRecord) -> None:
    assessment = record.assessment
    sql.execute(
        f"INSERT INTO loan_applications ({_APPLICATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (
            record.loan_id,
            json.dumps(record.features, sort_keys=True, allow_nan=False),
            None if assessment is None else assessment.model_version,
            None if assessment is None else assessment.default_bps,
            None if assessment is None else assessment.score,
            None if assessment is None else json.dumps(list(assessment.reasons)),
        ),
    )


def _application_from_row(row: tuple[Any, ...]) -> ApplicationRecord:
    assessment = None
    if row[2] is not None:
        assessment = CreditAssessment(
            str(row[2]), int(row[3]), int(row[4]), tuple(json.loads(row[5] or "[]"))
        )
    return ApplicationRecord(int(row[0]), dict(json.loads(row[1])), assessment)


def _insert_repayment(sql: SqlSession, repayment: Repayment) -> None:
    sql.execute(
        f"INSERT INTO loan_repayments ({REPAYMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            repayment.id,
            repayment.loan_id,
            repayment.kind,
            repayment.amount,
            repayment.penalty,
            repayment.interest,
            repayment.principal,
            json.dumps(list(repayment.transfer_ids)),
            repayment.created_at_ns,
        ),
    )
