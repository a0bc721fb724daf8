"""`hazina demo`: seed a small mobile-money economy through the payments service.

The seed is deterministic in shape (seeded randomness: the same parties, amounts and order);
ids and times come from the clock. It runs once per database: a database that already has
demo parties is left alone.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hazina.bootstrap import Platform, build_platform, default_database
from hazina.identity.roles import Role, Scope
from hazina.identity.totp import totp_code
from hazina.kernel.money import Money
from hazina.ledger.audit import verify
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier
from hazina.payments.errors import PaymentError
from hazina.payments.records import IssuedVoucher

console = Console()

KES = "KES"
DEMO_ADMIN = "admin"
DEMO_PASSWORD = "hazina-demo-admin"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    username: str
    password: str
    totp_secret: str
    api_key: str | None  # None when the database was seeded before (keys are shown once)


def _kes(amount: str) -> int:
    return Money.of(amount, KES).minor


def seed_demo(
    platform: Platform, customers: int = 2_000, payments_count: int = 6_000, seed: int = 7
) -> tuple[DemoCredentials, Counter[str]]:
    """Seed the demo economy once; returns the credentials and what happened, by outcome."""
    payments = platform.payments
    identity = platform.identity
    outcomes: Counter[str] = Counter()
    if identity.get_operator(DEMO_ADMIN) is not None:
        return DemoCredentials(DEMO_ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET, None), outcomes
    identity.create_operator(
        DEMO_ADMIN,
        "Demo administrator",
        DEMO_PASSWORD,
        [Role.admin],
        "demo",
        totp_secret=DEMO_TOTP_SECRET,
    )
    key = identity.issue_key("demo", "demo", list(Scope), "demo").plaintext
    rng = random.Random(seed)

    def party(kind: PartyKind, name: str, **extra: object) -> int:
        created = payments.register_party(kind, name, [KES], **extra)  # type: ignore[arg-type]
        return payments.wallet_of(created.id, KES).id

    agents = [party(PartyKind.agent, f"Agent {i:02d}", code=f"AG{i:03d}") for i in range(1, 11)]
    merchants = [
        party(
            PartyKind.merchant,
            name,
            code=f"M{i:03d}",
            details={"merchant_category_code": mcc, "city": "Nairobi"},
        )
        for i, (name, mcc) in enumerate(
            [
                ("Mama Mboga Grocers", "5411"),
                ("Kibanda Cafe", "5812"),
                ("Jua Kali Hardware", "5251"),
                ("Boda Fuel", "5541"),
                ("Duka la Dawa", "5912"),
                ("Shule Books", "5942"),
            ]
            * 3,
            start=1,
        )
    ]
    billers = [
        party(PartyKind.biller, name, code=code)
        for name, code in [("Kenya Power", "KPLC"), ("Nairobi Water", "NWSC"), ("Zuku TV", "ZUKU")]
    ]
    banks = [
        party(PartyKind.bank, name, code=code)
        for name, code in [("Equity", "EQTY"), ("KCB", "KCB")]
    ]
    for agent in agents:
        payments.purchase_float(agent, _kes("2000000"), "opening float")
    wallets: list[int] = []
    for i in range(customers):
        tier = rng.choices(list(KycTier), weights=[10, 40, 45, 5])[0]
        wallets.append(
            party(
                PartyKind.customer,
                f"Customer {i:05d}",
                phone=f"+2547{12000000 + i:08d}",
                kyc_tier=tier,
            )
        )
        try:
            payments.cash_in(
                rng.choice(agents), wallets[-1], _kes(str(rng.randint(200, 20_000))), KES
            )
            outcomes["cash_in"] += 1
        except PaymentError as error:
            outcomes[f"refused:{error.code}"] += 1
    for _ in range(payments_count):
        payer = rng.choice(wallets)
        kind = rng.choices(["p2p", "merchant", "bill", "cash_out", "bank"], [40, 30, 12, 15, 3])[0]
        amount = _kes(str(rng.choice([50, 100, 150, 200, 350, 500, 1_000, 2_500])))
        try:
            if kind == "p2p":
                phone = f"+2547{12000000 + rng.randrange(customers + 20):08d}"
                outcome = payments.send_p2p(payer, phone, amount, KES)
                kind = "voucher" if isinstance(outcome, IssuedVoucher) else kind
            elif kind == "merchant":
                payments.pay_merchant(payer, rng.choice(merchants), amount, KES)
            elif kind == "bill":
                payments.pay_bill(
                    payer, rng.choice(billers), f"ACC{rng.randrange(10**6):06d}", amount, KES
                )
            elif kind == "cash_out":
                payments.cash_out(payer, rng.choice(agents), amount, KES)
            else:
                held = payments.send_to_bank(payer, rng.choice(banks), "0123456789", amount, KES)
                payments.settle_bank_transfer(held.id, succeeded=rng.random() < 0.9)
            outcomes[kind] += 1
        except PaymentError as error:
            outcomes[f"refused:{error.code}"] += 1
    return DemoCredentials(DEMO_ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET, key), outcomes


def print_credentials(platform: Platform, credentials: DemoCredentials) -> None:
    now_s = platform.clock.now_ns() // 1_000_000_000
    console.print("[bold]Demo operator[/bold] (console and POST /v1/operator-sessions)")
    console.print(f"  username: {credentials.username}   password: {credentials.password}")
    console.print(
        f"  TOTP secret: {credentials.totp_secret} (any authenticator app; code now: "
        f"{totp_code(credentials.totp_secret, now_s)}; or `hazina totp {credentials.totp_secret}`)"
    )
    if credentials.api_key is not None:
        console.print(f"[bold]Demo API key[/bold] (all scopes, shown once): {credentials.api_key}")
    else:
        console.print("Demo API key: issued when this database was first seeded (shown once).")


def demo(
    database: Annotated[
        str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
    ] = default_database,
    customers: Annotated[int, typer.Option(help="Customers to seed")] = 2_000,
    payments_count: Annotated[int, typer.Option("--payments", help="Payments to seed")] = 6_000,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed")] = 7,
) -> None:
    """Seed the demo economy (once per database) and print a summary."""
    platform = build_platform(database)
    try:
        started = time.perf_counter()
        credentials, outcomes = seed_demo(platform, customers, payments_count, seed_value)
        elapsed = time.perf_counter() - started
        table = Table(title=f"Demo seed ({elapsed:.1f} s)")
        table.add_column("outcome")
        table.add_column("count", justify="right")
        for outcome, count in sorted(outcomes.items()):
            table.add_row(outcome, str(count))
        if outcomes:
            console.print(table)
        else:
            console.print("The database was seeded before; nothing added.")
        report = verify(platform.ledger.store)
        console.print(
            f"Ledger verify: {'OK' if report.ok else 'BROKEN'} "
            f"({report.journal_entries} journal entries, {report.transfers} transfers)"
        )
        print_credentials(platform, credentials)
    finally:
        platform.close()
