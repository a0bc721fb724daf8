"""`hazina cbdc ...`: the CBDC from the command line, over a platform database.

The same service as the API (`/v1/cbdc/...`): admit a participant, deposit reserves, mint and
redeem (the central bank's operations), open wallets, distribute, pay, release conditional
payments, and the central bank's overview and audit. Ids are the API's (`cbp_...`,
`cbw_...`); amounts are decimal strings in major units. A refusal prints its stable code and
exits with status 1; `audit` exits with status 1 when an invariant does not hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hazina.api.amounts import format_amount, parse_amount
from hazina.bootstrap import default_database
from hazina.cbdc.domain.chart import ParticipantKind, Tier
from hazina.cbdc.records import Operation
from hazina.cbdc.service import CbdcService
from hazina.cli.common import id_option, refusals_exit
from hazina.kernel.ids import prefixed

app = typer.Typer(help="CBDC: issuance, distribution, wallets, payments, audit.")
console = Console()

DatabaseOption = Annotated[
    str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
]


@contextmanager
def _cbdc(database: str) -> Iterator[CbdcService]:
    with refusals_exit(database) as platform:
        yield CbdcService(platform.ledger, platform.clock, platform.ids, platform.payments)


_id = id_option


def _money(service: CbdcService, minor: int) -> str:
    return f"{format_amount(minor, service.config.fiat)} {service.config.code}"


def _show(service: CbdcService, operation: Operation) -> None:
    swept = (
        f", {_money(service, operation.swept)} swept to the linked bank" if operation.swept else ""
    )
    console.print(
        f"{operation.kind} {prefixed('cbo', operation.id)}: {_money(service, operation.amount)}"
        f"{swept}"
    )


@app.command("register-participant")
def register_participant(
    code: Annotated[str, typer.Option(help="Unique participant code, e.g. BNK1")],
    name: Annotated[str, typer.Option(help="The bank's or operator's name")],
    kind: Annotated[ParticipantKind, typer.Option(help="bank or operator")] = ParticipantKind.bank,
    database: DatabaseOption = default_database,
) -> None:
    """Admit a bank or operator to hold and distribute the CBDC."""
    with _cbdc(database) as service:
        participant = service.register_participant(code, name, kind)
        console.print(f"participant {prefixed('cbp', participant.id)}: {participant.name}")


def _issuance(participant: str, amount: str, database: str, kind: str) -> None:
    participant_id = _id("cbp", participant, "PARTICIPANT")
    with _cbdc(database) as service:
        minor = parse_amount(amount, service.config.fiat)
        if kind == "reserves":
            operation = service.deposit_reserves(participant_id, minor)
        elif kind == "mint":
            operation = service.mint(participant_id, minor)
        else:
            operation = service.redeem(participant_id, minor)
        _show(service, operation)


@app.command("deposit-reserves")
def deposit_reserves(
    participant: str, amount: str, database: DatabaseOption = default_database
) -> None:
    """Record fiat settled into a participant's reserve account at the central bank."""
    _issuance(participant, amount, database, "reserves")


@app.command("mint")
def mint(participant: str, amount: str, database: DatabaseOption = default_database) -> None:
    """Issue CBDC to a participant against its reserves (the central bank's operation)."""
    _issuance(participant, amount, database, "mint")


@app.command("redeem")
def redeem(participant: str, amount: str, database: DatabaseOption = default_database) -> None:
    """Take CBDC back from a participant and return its reserves."""
    _issuance(participant, amount, database, "redeem")


@app.command("open-wallet")
def open_wallet(
    participant: Annotated[str, typer.Option(help="cbp_... distributing the wallet")],
    holder: Annotated[str, typer.Option(help="Who holds it")],
    tier: Annotated[Tier, typer.Option(help="anonymous or full_kyc")] = Tier.anonymous,
    linked_account: Annotated[
        str | None, typer.Option(help="The holder's bank account: turns on the waterfall")
    ] = None,
    database: DatabaseOption = default_database,
) -> None:
    """Open a customer's CBDC wallet."""
    participant_id = _id("cbp", participant, "--participant")
    with _cbdc(database) as service:
        wallet = service.open_wallet(participant_id, holder, tier, linked_account)
        limit = _money(service, service.config.holding_max(wallet.tier))
        console.print(f"wallet {prefixed('cbw', wallet.id)}: {wallet.tier.value}, holds {limit}")


@app.command("distribute")
def distribute(wallet: str, amount: str, database: DatabaseOption = default_database) -> None:
    """Pay CBDC from the wallet's participant into the wallet."""
    wallet_id = _id("cbw", wallet, "WALLET")
    with _cbdc(database) as service:
        _show(service, service.distribute(wallet_id, parse_amount(amount, service.config.fiat)))


@app.command("pay")
def pay(
    from_wallet: str, to_wallet: str, amount: str, database: DatabaseOption = default_database
) -> None:
    """Pay from one CBDC wallet to another (the excess over the payee's limit is swept)."""
    payer = _id("cbw", from_wallet, "FROM_WALLET")
    payee = _id("cbw", to_wallet, "TO_WALLET")
    with _cbdc(database) as service:
        _show(service, service.pay(payer, payee, parse_amount(amount, service.config.fiat)))


@app.command("release")
def release(database: DatabaseOption = default_database) -> None:
    """Release the conditional payments whose conditions hold now."""
    with _cbdc(database) as service:
        released = service.release_due()
        console.print(f"released {len(released)} conditional payments")


@app.command("overview")
def overview(database: DatabaseOption = default_database) -> None:
    """The central bank's view: issuance, circulation by tier and participant, velocity."""
    with _cbdc(database) as service:
        view = service.overview()
        console.print(
            f"issued {_money(service, view.issued)}, redeemed {_money(service, view.redeemed)},"
            f" circulation {_money(service, view.circulation)},"
            f" backing {_money(service, view.backing)}"
        )
        table = Table("circulation by", "amount")
        for row in (*view.by_tier, *view.by_participant):
            table.add_row(row.label, _money(service, row.amount))
        console.print(table)
        console.print(
            f"in escrow {_money(service, view.held_in_escrow)}; payments over"
            f" {view.velocity_window_s // 86_400} days {_money(service, view.payments_value)};"
            f" velocity {view.velocity}"
        )


@app.command("audit")
def audit(database: DatabaseOption = default_database) -> None:
    """Check that circulation = issued - redeemed = balances held = fiat backing, that the
    offline pool matches the outstanding tokens, and the holding limits. Exit 1 if not."""
    with _cbdc(database) as service:
        report = service.audit()
        table = Table("check", "ok", "detail")
        for check in report.checks:
            table.add_row(check.name, "yes" if check.ok else "[red]NO[/red]", check.detail)
        console.print(table)
        console.print(
            f"issued {_money(service, report.issued)} - redeemed"
            f" {_money(service, report.redeemed)} = circulation"
            f" {_money(service, report.circulation)}: {'OK' if report.ok else 'BROKEN'}"
        )
    if not report.ok:
        raise typer.Exit(1)
