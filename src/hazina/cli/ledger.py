"""`hazina ledger ...`: inspect, audit and drive the double-entry ledger."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hazina.bootstrap import build_ledger, default_database, open_ledger_store
from hazina.ledger.audit import JournalHead
from hazina.ledger.audit import verify as verify_ledger
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import (
    Account,
    AccountFilter,
    AccountRequest,
    QueryFilter,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateAccountStatus, CreateTransferStatus

app = typer.Typer(help="The double-entry ledger: accounts, transfers, audit.", no_args_is_help=True)
console = Console()

Database = Annotated[
    str,
    typer.Option(
        "--database", "-d", help="SQLite file path, or postgresql://user@host/db", show_default=True
    ),
]


def _flags(names: list[str], enum: type[AccountFlags] | type[TransferFlags]) -> int:
    value = 0
    for name in names:
        try:
            value |= int(enum[name])
        except KeyError:
            known = ", ".join(m.name for m in enum if m.name and m.name != "none")
            raise typer.BadParameter(f"unknown flag {name!r}; known: {known}") from None
    return value


@app.command()
def verify(
    database: Database = default_database,
    head: Annotated[
        str | None,
        typer.Option(
            help="A journal head printed by an earlier verify (SEQUENCE:HASH): also check that"
            " the chain still passes through it, i.e. nothing up to it was rewritten or cut off"
        ),
    ] = None,
) -> None:
    """Recompute the journal's hash chain and every balance; report the first break."""
    try:
        expected_head = None if head is None else JournalHead.parse(head)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--head") from None
    store = open_ledger_store(database)
    try:
        report = verify_ledger(store, expected_head=expected_head)
    finally:
        store.close()
    console.print(
        f"checked {report.journal_entries} journal entries, {report.records} records,"
        f" {report.transfers} transfers, {report.accounts} accounts"
    )
    if report.ok:
        console.print("[green]ledger verified: hash chain intact, balances match transfers[/]")
        if report.head is not None:  # keep it elsewhere; `--head` checks against it later
            console.print(f"journal head: {report.head}", soft_wrap=True)
        return
    console.print(f"[red]first break:[/] {report.first_break}", soft_wrap=True)
    for problem in report.problems[1:]:
        console.print(f"  also: {problem}", soft_wrap=True)
    raise typer.Exit(code=1)


@app.command("create-account")
def create_account(
    account_id: Annotated[int, typer.Argument(help="Client-chosen id (idempotency key)")],
    ledger: Annotated[int, typer.Option(help="Ledger (currency/asset) number, e.g. 404")],
    code: Annotated[int, typer.Option(help="Account type code")] = 1,
    flag: Annotated[
        list[str] | None,
        typer.Option(help="Account flag, repeatable: debits_must_not_exceed_credits, history..."),
    ] = None,
    database: Database = default_database,
) -> None:
    """Create one account."""
    service = build_ledger(database)
    try:
        results = service.create_accounts(
            [AccountRequest(account_id, ledger, code, _flags(flag or [], AccountFlags))]
        )
    finally:
        service.close()
    status = CreateAccountStatus(results[0].status) if results else CreateAccountStatus.ok
    console.print(status.name)
    if status not in (CreateAccountStatus.ok, CreateAccountStatus.exists):
        raise typer.Exit(code=1)


@app.command()
def transfer(
    transfer_id: Annotated[int, typer.Argument(help="Client-chosen id (idempotency key)")],
    debit: Annotated[int, typer.Option(help="Debit account id")],
    credit: Annotated[int, typer.Option(help="Credit account id")],
    amount: Annotated[int, typer.Option(help="Amount in minor units")],
    ledger: Annotated[int, typer.Option(help="Ledger number")],
    code: Annotated[int, typer.Option(help="Transfer type code")] = 1,
    pending_id: Annotated[int, typer.Option(help="Pending transfer to post or void")] = 0,
    timeout: Annotated[int, typer.Option(help="Seconds before a pending transfer expires")] = 0,
    flag: Annotated[
        list[str] | None,
        typer.Option(help="Transfer flag, repeatable: pending, post_pending_transfer, ..."),
    ] = None,
    database: Database = default_database,
) -> None:
    """Create one transfer (see `--flag` for two-phase and balancing transfers)."""
    service = build_ledger(database)
    try:
        results = service.create_transfers(
            [
                TransferRequest(
                    transfer_id,
                    debit,
                    credit,
                    amount,
                    ledger,
                    code,
                    _flags(flag or [], TransferFlags),
                    pending_id,
                    timeout,
                )
            ]
        )
    finally:
        service.close()
    status = CreateTransferStatus(results[0].status) if results else CreateTransferStatus.ok
    console.print(status.name)
    if status not in (CreateTransferStatus.ok, CreateTransferStatus.exists):
        raise typer.Exit(code=1)


def accounts_table(accounts: list[Account], title: str) -> Table:
    table = Table(title=title)
    for column in ("id", "ledger", "code", "flags", "debits", "credits", "balance"):
        table.add_column(column, justify="right" if column != "flags" else "left")
    for a in accounts:
        flags = AccountFlags(a.flags)
        table.add_row(
            str(a.id),
            str(a.ledger),
            str(a.code),
            "|".join(f.name or "" for f in flags) or "-",
            f"{a.debits_posted} (+{a.debits_pending} pending)",
            f"{a.credits_posted} (+{a.credits_pending} pending)",
            str(a.credits_posted - a.debits_posted),
        )
    return table


@app.command()
def accounts(
    database: Database = default_database,
    ledger: Annotated[int, typer.Option(help="Only this ledger (0: all)")] = 0,
    limit: Annotated[int, typer.Option(help="Rows to show")] = 50,
) -> None:
    """List accounts with their balances."""
    store = open_ledger_store(database)
    try:
        rows = store.query_accounts(QueryFilter(ledger=ledger, limit=limit))
    finally:
        store.close()
    console.print(accounts_table(rows, f"accounts ({len(rows)})"))


@app.command()
def statement(
    account_id: Annotated[int, typer.Argument(help="Account id")],
    database: Database = default_database,
    limit: Annotated[int, typer.Option(help="Rows to show")] = 50,
    after: Annotated[int, typer.Option(help="Cursor: only transfers after this timestamp")] = 0,
) -> None:
    """An account's transfers in time order, with a cursor for the next page."""
    store = open_ledger_store(database)
    try:
        rows = store.get_account_transfers(
            AccountFilter(account_id, timestamp_min=after + 1 if after else 0, limit=limit)
        )
    finally:
        store.close()
    table = Table(title=f"account {account_id}")
    for column in ("timestamp", "id", "debit", "credit", "amount", "flags"):
        table.add_column(column)
    for t in rows:
        names = "|".join(f.name or "" for f in TransferFlags(t.flags)) or "-"
        table.add_row(
            str(t.timestamp),
            str(t.id),
            str(t.debit_account_id),
            str(t.credit_account_id),
            str(t.amount),
            names,
        )
    console.print(table)
    if len(rows) == limit:
        console.print(f"next page: --after {rows[-1].timestamp}")
