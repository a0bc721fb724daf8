"""`hazina loans ...`: the loan lifecycle from the command line, over a platform database.

The same service as the API (`/v1/loan-products`, `/v1/loans`): create a product, apply,
disburse, repay, close the day (accrual, penalties, ageing, provisions), write off, recover.
Ids are the API's (`lpr_...`, `lon_...`); amounts are decimal strings in major units. A
refusal prints its stable code and exits with status 1.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hazina.api.amounts import format_amount, parse_amount
from hazina.bootstrap import Platform, default_database
from hazina.cli.common import id_option, refusals_exit
from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.credit.loans.records import ApplicationRecord, Loan
from hazina.credit.loans.service import LoansService
from hazina.credit.wallet import wallet_feature_names
from hazina.kernel.ids import prefixed

app = typer.Typer(help="Micro-loans: products, applications, repayments, end of day.")
console = Console()
_epoch = date(1970, 1, 1)
_T = TypeVar("_T")

DatabaseOption = Annotated[
    str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
]


@contextmanager
def _loans(
    database: str, credit_registry: Path | None = None
) -> Iterator[tuple[Platform, LoansService]]:
    with refusals_exit(database, credit_registry) as platform:
        yield platform, platform.loans


_id = id_option


def _show(loan: Loan) -> None:
    money = loan.currency
    console.print(
        f"loan {prefixed('lon', loan.id)}: {loan.status}"
        f"{' (' + ', '.join(loan.reasons) + ')' if loan.reasons else ''},"
        f" {format_amount(loan.amount, money)} {money} over {loan.term} installments,"
        f" fee {format_amount(loan.fee, money)}, {loan.days_past_due} days past due,"
        f" stage {loan.stage}"
    )
    if loan.schedule:
        table = Table("#", "due", "principal", "interest", "total")
        for i in loan.schedule:
            table.add_row(
                str(i.number),
                date.fromordinal(_epoch.toordinal() + i.due_day).isoformat(),
                format_amount(i.principal, money),
                format_amount(i.interest, money),
                format_amount(i.total, money),
            )
        console.print(table)


@app.command("create-product")
def create_product(
    name: Annotated[str, typer.Option(help="Unique product name")],
    amount_min: Annotated[str, typer.Option(help="Smallest loan, e.g. 1000.00")],
    amount_max: Annotated[str, typer.Option(help="Largest loan")],
    term_max: Annotated[int, typer.Option(help="Most installments")],
    rate_bps: Annotated[int, typer.Option(help="Interest per period, basis points")],
    term_min: Annotated[int, typer.Option(help="Fewest installments")] = 1,
    period_days: Annotated[int, typer.Option(help="Days between installments")] = 30,
    method: Annotated[InterestMethod, typer.Option(help="flat or declining")] = (
        InterestMethod.declining
    ),
    fee_bps: Annotated[int, typer.Option(help="Upfront fee, basis points")] = 0,
    grace_installments: Annotated[int, typer.Option(help="Interest-only installments")] = 0,
    penalty_fee: Annotated[str, typer.Option(help="Fee per late installment")] = "0",
    penalty_after_days: Annotated[int, typer.Option(help="Days late before the fee")] = 0,
    max_default_bps: Annotated[int, typer.Option(help="Score cut-off (PD, bps)")] = 10_000,
    min_kyc_tier: Annotated[int, typer.Option(help="Lowest KYC tier that may borrow")] = 0,
    currency_code: Annotated[str, typer.Option("--currency")] = "KES",
    database: DatabaseOption = default_database,
) -> None:
    """Offer a loan product."""
    with _loans(database) as (_, loans):
        product = loans.create_product(
            LoanProduct(
                0,
                name,
                currency_code,
                parse_amount(amount_min, currency_code),
                parse_amount(amount_max, currency_code),
                term_min,
                term_max,
                period_days,
                method,
                rate_bps,
                fee_bps,
                grace_installments,
                parse_amount(penalty_fee, currency_code),
                penalty_after_days,
                max_default_bps,
                min_kyc_tier,
            ),
            "cli",
        )
        console.print(f"product {prefixed('lpr', product.id)}: {product.name}")


@app.command("products")
def products(database: DatabaseOption = default_database) -> None:
    """List the loan products."""
    with _loans(database) as (_, loans):
        table = Table("id", "name", "amounts", "terms", "method", "rate/period")
        for p in loans.list_products():
            table.add_row(
                prefixed("lpr", p.id),
                p.name,
                f"{format_amount(p.amount_min, p.currency)}-"
                f"{format_amount(p.amount_max, p.currency)} {p.currency}",
                f"{p.term_min}-{p.term_max} x {p.period_days} d",
                p.method.value,
                f"{p.rate_bps / 100:.2f}%",
            )
        console.print(table)


@app.command("apply")
def apply(
    phone: Annotated[str, typer.Option(help="The borrower's phone number (E.164)")],
    product: Annotated[str, typer.Option(help="lpr_...")],
    amount: Annotated[str, typer.Option(help="e.g. 5000.00")],
    term: Annotated[int, typer.Option(help="Installments")],
    database: DatabaseOption = default_database,
    credit_registry: Annotated[
        Path | None,
        typer.Option(
            help="Credit model registry whose champion (trained on wallet-history features) "
            "scores the application; without it the product's policy rules decide alone"
        ),
    ] = None,
) -> None:
    """Apply for a loan; prints the decision (and the credit score and reasons, if scored)."""
    product_id = _id("lpr", product, "--product")
    with _loans(database, credit_registry) as (platform, loans):
        chosen = loans.get_product(product_id)
        party = platform.payments.find_party(phone=phone)
        decided = loans.apply(party.id, product_id, parse_amount(amount, chosen.currency), term)
        _show(decided)
        _show_assessment(loans.application(decided.id))


def _show_assessment(record: ApplicationRecord | None) -> None:
    if record is None or record.assessment is None:
        console.print("not scored by a credit model (policy rules only)")
        return
    a = record.assessment
    console.print(
        f"credit model {a.model_version}: score {a.score}, probability of default "
        f"{a.default_bps / 100:.2f}%, reasons: {', '.join(a.reasons) or 'none'}"
    )


@app.command("training-table")
def training_table(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write")],
    database: DatabaseOption = default_database,
) -> None:
    """Write the wallet-history features of every loan with an outcome, and the outcome
    (`defaulted`: 1 written off or stage 3, 0 repaid), as a CSV for `hazina credit train
    --dataset FILE --target defaulted --drop loan_id`."""
    with _loans(database) as (_, loans):
        written = 0
        defaults = 0
        after = 0
        with output.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["loan_id", *wallet_feature_names, "defaulted"])
            while page := loans.training_rows(after):
                for record, defaulted in page:
                    writer.writerow(
                        [
                            prefixed("lon", record.loan_id),
                            *(
                                "" if (value := record.features.get(name)) is None else value
                                for name in wallet_feature_names
                            ),
                            defaulted,
                        ]
                    )
                    written += 1
                    defaults += defaulted
                after = page[-1][0].loan_id
    console.print(f"{written} loans with an outcome ({defaults} defaulted) written to {output}")


@app.command("disburse")
def disburse(loan: str, database: DatabaseOption = default_database) -> None:
    """Pay an approved loan into the borrower's wallet."""
    loan_id = _id("lon", loan, "LOAN")
    with _loans(database) as (_, loans):
        _show(loans.disburse(loan_id))


def _money_command(
    loan: str, amount: str, database: str, act: Callable[[LoansService, int, int], _T]
) -> _T:
    loan_id = _id("lon", loan, "LOAN")
    with _loans(database) as (_, loans):
        return act(loans, loan_id, parse_amount(amount, loans.get_loan(loan_id).currency))
    raise AssertionError("unreachable")  # pragma: no cover


@app.command("repay")
def repay(loan: str, amount: str, database: DatabaseOption = default_database) -> None:
    """Repay from the borrower's wallet (penalties, interest, then principal)."""
    repayment = _money_command(loan, amount, database, lambda s, i, a: s.repay(i, a))
    console.print(
        f"repaid {repayment.amount} minor units: penalty {repayment.penalty}, interest"
        f" {repayment.interest}, principal {repayment.principal}"
    )


@app.command("recover")
def recover(loan: str, amount: str, database: DatabaseOption = default_database) -> None:
    """Collect on a written-off loan."""
    recovery = _money_command(loan, amount, database, lambda s, i, a: s.recover(i, a))
    console.print(f"recovered {recovery.amount} minor units")


@app.command("write-off")
def write_off(loan: str, database: DatabaseOption = default_database) -> None:
    """Write off a stage 3 loan."""
    loan_id = _id("lon", loan, "LOAN")
    with _loans(database) as (_, loans):
        _show(loans.write_off(loan_id))


@app.command("close-day")
def close_day(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC); default today")] = None,
    database: DatabaseOption = default_database,
) -> None:
    """Accrue interest (catching up missed days), charge penalties, age arrears, provide
    for expected credit losses. A second run for the same day changes nothing."""
    try:
        number = None if day is None else (date.fromisoformat(day) - _epoch).days
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--day") from None
    with _loans(database) as (_, loans):
        results = loans.close_day(number)
        table = Table("loan", "accrued", "days", "penalties", "dpd", "stage", "allowance")
        for r in results:
            table.add_row(
                prefixed("lon", r.loan_id),
                str(r.accrued),
                str(r.accrued_days),
                str(r.penalties),
                str(r.days_past_due),
                str(r.stage),
                str(r.allowance),
            )
        console.print(table)
        console.print(f"{len(results)} active loans closed")


@app.command("sweep")
def sweep(database: DatabaseOption = default_database) -> None:
    """Collect what is due from wallets that received money since the last sweep."""
    with _loans(database) as (_, loans):
        swept = loans.sweep_inflows()
        for r in swept:
            console.print(f"{prefixed('lon', r.loan_id)}: collected {r.amount} minor units")
        console.print(f"{len(swept)} loans swept")


@app.command("show")
def show(loan: str, database: DatabaseOption = default_database) -> None:
    """A loan, its schedule and its balances (from the ledger)."""
    loan_id = _id("lon", loan, "LOAN")
    with _loans(database) as (_, loans):
        view = loans.view(loan_id)
        _show(view.loan)
        _show_assessment(loans.application(loan_id))
        b = view.balances
        console.print(
            f"owed: principal {b.principal}, interest {b.interest}, penalty {b.penalty}"
            f" (outstanding {b.outstanding}); allowance {b.allowance}; repaid {view.repaid};"
            f" recovered {view.recovered} (minor units)"
        )
