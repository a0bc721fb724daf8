"""`hazina demo`: seed a small mobile-money economy into the ledger and show it.

The seed is deterministic (fixed ids, seeded randomness), so running it again changes nothing:
every transfer comes back `exists`, which is the ledger's idempotency at work.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Annotated

import typer
from rich.console import Console

from hazina.bootstrap import build_ledger, default_database
from hazina.cli.ledger import accounts_table
from hazina.kernel.money import Money, currency
from hazina.ledger.audit import verify
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, TransferRequest
from hazina.ledger.domain.results import CreateTransferStatus
from hazina.ledger.service import LedgerService

console = Console()

KES = currency("KES")
LEDGER = KES.number  # one ledger per currency: its ISO 4217 number

# Account codes (chart of accounts).
TRUST = 100  # e-money issued against the trust account at the partner bank
FEES = 200  # fee income
WALLET = 300  # customer wallets
AGENT = 400  # agent float
BANK_SETTLEMENT = 500

TRUST_ID, FEES_ID, BANK_ID = 1, 2, 3
AGENT_IDS = range(10, 20)
CUSTOMER_FIRST_ID = 1_000

# Transfer codes.
CASH_IN, P2P, FEE, BANK_OUT, SWEEP = 1, 2, 3, 4, 5


def _shillings(amount: str) -> int:
    return Money.of(amount, "KES").minor


def seed(service: LedgerService, customers: int, rng: random.Random) -> Counter[str]:
    """Create the accounts and a month of traffic. Returns how many events got each status."""
    wallet = int(AccountFlags.debits_must_not_exceed_credits | AccountFlags.history)
    requests = [
        AccountRequest(TRUST_ID, LEDGER, TRUST),
        AccountRequest(FEES_ID, LEDGER, FEES, int(AccountFlags.debits_must_not_exceed_credits)),
        AccountRequest(BANK_ID, LEDGER, BANK_SETTLEMENT),
        *(AccountRequest(i, LEDGER, AGENT, wallet) for i in AGENT_IDS),
        *(AccountRequest(CUSTOMER_FIRST_ID + i, LEDGER, WALLET, wallet) for i in range(customers)),
    ]
    for start in range(0, len(requests), 8_000):
        service.create_accounts(requests[start : start + 8_000])

    transfer_id = 1
    transfers: list[TransferRequest] = []

    def add(debit: int, credit: int, amount: int, code: int, flags: int = 0, **extra: int) -> int:
        nonlocal transfer_id
        transfers.append(
            TransferRequest(transfer_id, debit, credit, amount, LEDGER, code, flags, **extra)
        )
        transfer_id += 1
        return transfer_id - 1

    for agent in AGENT_IDS:  # agents buy float from the trust account
        add(TRUST_ID, agent, _shillings("500000"), CASH_IN)
    customer_ids = [CUSTOMER_FIRST_ID + i for i in range(customers)]
    for customer in customer_ids:  # cash-in at an agent
        add(rng.choice(AGENT_IDS), customer, _shillings(str(rng.randint(200, 5_000))), CASH_IN)
    linked = int(TransferFlags.linked)
    for _ in range(customers * 3):  # P2P with a fee leg: one linked, all-or-nothing chain
        sender, receiver = rng.sample(customer_ids, 2)
        add(sender, receiver, _shillings(str(rng.randint(10, 1_500))), P2P, linked)
        add(sender, FEES_ID, _shillings("7"), FEE)
    # A bank transfer out: pending until the bank confirms, then posted.
    pending = add(
        customer_ids[0],
        BANK_ID,
        _shillings("100"),
        BANK_OUT,
        int(TransferFlags.pending),
        timeout=3_600,
    )
    add(0, 0, 0, BANK_OUT, int(TransferFlags.post_pending_transfer), pending_id=pending)
    # One the bank refused: voided, the money is back.
    refused = add(
        customer_ids[1],
        BANK_ID,
        _shillings("50"),
        BANK_OUT,
        int(TransferFlags.pending),
        timeout=3_600,
    )
    add(0, 0, 0, BANK_OUT, int(TransferFlags.void_pending_transfer), pending_id=refused)
    # Sweep whatever a customer has left into the bank: a balancing transfer.
    add(
        customer_ids[2],
        BANK_ID,
        Money.of("1000000", "KES").minor,
        SWEEP,
        int(TransferFlags.balancing_debit),
    )

    outcomes: Counter[str] = Counter()
    for start in range(0, len(transfers), 8_000):
        chunk = transfers[start : start + 8_000]
        # never split a linked chain across batches
        while chunk and chunk[-1].flags & linked:
            chunk = chunk[:-1]
        if len(chunk) < len(transfers[start : start + 8_000]):
            raise RuntimeError("demo batches must end on a chain boundary")
        results = service.create_transfers(chunk)
        outcomes.update(CreateTransferStatus(r.status).name for r in results)
        outcomes["ok"] += len(chunk) - len(results)
    return outcomes


def demo(
    database: Annotated[
        str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
    ] = default_database,
    customers: Annotated[int, typer.Option(help="Customer wallets to seed")] = 2_000,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed")] = 7,
) -> None:
    """Seed a demo mobile-money economy into the ledger, show balances and audit it."""
    service = build_ledger(database)
    try:
        started = time.perf_counter()
        outcomes = seed(service, customers, random.Random(seed_value))
        elapsed = time.perf_counter() - started
        console.print(f"[bold]Hazina ledger demo[/] on {database}")
        summary = ", ".join(f"{name}: {count}" for name, count in outcomes.most_common())
        console.print(
            f"seeded {customers} customer wallets in {elapsed:.2f}s; transfer outcomes:"
            f" {summary}. Running it again changes nothing: every id is already there"
            " (exists) or already failed (id_already_failed)."
        )
        system = service.lookup_accounts([TRUST_ID, FEES_ID, BANK_ID, *AGENT_IDS[:3]])
        console.print(accounts_table(system, "system accounts (KES, minor units)"))
        wallets = service.lookup_accounts([CUSTOMER_FIRST_ID + i for i in range(5)])
        console.print(accounts_table(wallets, "first customer wallets"))
        fees = service.lookup_accounts([FEES_ID])[0]
        console.print(f"fee income: {Money(fees.credits_posted, KES)}")
        report = verify(service.store)
        status = "[green]verified[/]" if report.ok else f"[red]BROKEN: {report.first_break}[/]"
        console.print(
            f"audit: {status} ({report.journal_entries} journal entries, {report.transfers}"
            " transfers)"
        )
        console.print(
            "next: `hazina ledger accounts`, `hazina ledger statement 1000`,"
            " `hazina ledger verify` (add --database to point elsewhere)"
        )
    finally:
        service.close()
