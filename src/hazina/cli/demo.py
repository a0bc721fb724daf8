"""`hazina demo`: seed a small mobile-money economy through the payments service.

The economy is the seeded simulator's (`hazina.sim`): customers, agents, merchants, billers
and partner banks, opening deposits, a few days of everyday payments and some labelled fraud
and laundering, replayed through the payments service by its driver. The seed is
deterministic in shape (the same parties, amounts and order); ids and times come from the
clock. It runs once per database: a database that already has the demo operator is left alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from hazina.bootstrap import Platform, build_platform, default_database
from hazina.console.demo import DEMO_OPERATORS, seed_console_operators
from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.identity.roles import Role, Scope
from hazina.identity.totp import totp_code
from hazina.ledger.audit import verify
from hazina.payments.domain.chart import PartyKind
from hazina.risk.data import load_payments, write_events
from hazina.risk.registry import ModelRegistry, ModelVersion
from hazina.risk.training import ModelParameters, train_from_dataset
from hazina.sim.behaviour import mean_events_per_day
from hazina.sim.driver import drive
from hazina.sim.generator import Simulation, SimulationConfig
from hazina.sim.parquet import TRANSACTIONS_FILE, write_dataset

console = Console()

KES = "KES"
DEMO_ADMIN = "admin"
DEMO_PASSWORD = "hazina-demo-admin"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_days_max = 366  # a few customers and many payments: at most a year of simulated history


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    username: str
    password: str
    totp_secret: str
    api_key: str | None  # None when the database was seeded before (keys are shown once)


def seed_demo(
    platform: Platform, customers: int = 2_000, payments_count: int = 6_000, seed: int = 7
) -> tuple[DemoCredentials, Counter[str]]:
    """Seed the demo economy once; returns the credentials and what happened, by outcome."""
    identity = platform.identity
    outcomes: Counter[str] = Counter()
    seed_console_operators(platform, DEMO_TOTP_SECRET)  # also on databases seeded before them
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
    outcomes.update(seed_traffic(platform, customers, payments_count, seed))
    outcomes.update(seed_loans(platform, max(1, customers // 20)))
    return DemoCredentials(DEMO_ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET, key), outcomes


DEMO_LOAN_PRODUCT = LoanProduct(
    0, "Kuanza 30", KES, 50_000, 2_000_000, 1, 3, 30, InterestMethod.declining,
    700, 100, 0, 5_000, 5, 10_000, 1,
)  # fmt: skip


def seed_loans(platform: Platform, borrowers: int) -> Counter[str]:
    """A small loan book: a product, and up to `borrowers` customers (KYC tier 1 and up)
    applying for KES 500-5,000; the approved are disbursed, every third repays at once.
    Decisions rest on the product's policy rules (the demo has no credit model)."""
    loans = platform.loans
    product = loans.create_product(DEMO_LOAN_PRODUCT, "demo")
    outcomes: Counter[str] = Counter()
    after = 0
    while outcomes["loan:applied"] < borrowers:
        page = platform.payments.list_parties(PartyKind.customer, after, 200)
        if not page:
            break
        after = page[-1].id
        for party in page:
            if outcomes["loan:applied"] >= borrowers:
                break
            amount = 50_000 * (1 + party.id % 10)
            loan = loans.apply(party.id, product.id, amount, 1 + party.id % 3)
            outcomes["loan:applied"] += 1
            if loan.status != "approved":
                outcomes["loan:declined"] += 1
                continue
            loans.disburse(loan.id)
            outcomes["loan:disbursed"] += 1
            owed = loans.view(loan.id).balances.outstanding
            held = platform.payments.balance(loan.wallet_id).balance
            if outcomes["loan:disbursed"] % 3 == 0 and held >= owed:
                loans.repay(loan.id, owed)
                outcomes["loan:repaid"] += 1
    return outcomes


def seed_traffic(
    platform: Platform, customers: int, payments_count: int, seed: int = 7
) -> Counter[str]:
    """The simulator's economy, driven through the payments service: as many simulated days
    as it takes for about `payments_count` customer transactions, after an opening deposit
    per customer. The platform's own clock stamps them (the demo runs live). Also what a
    partner's sandbox is filled with."""
    days = -(-payments_count // max(1, round(customers * mean_events_per_day)))
    config = SimulationConfig(customers=customers, days=min(max(days, 1), _days_max), seed=seed)
    simulation = Simulation(config)
    summary = drive(platform.payments, simulation.days(), simulation.population, KES)
    return Counter(summary.outcomes())


# The demo's fraud model: trained on the simulator's own labelled economy (not the platform's
# payments, which the demo stamps all at once), small enough to train in about 3 s. One
# LightGBM thread: on a busy machine its OpenMP threads spin against each other (measured 2.4 s
# with one thread against 24 s with two under a load of 3.6 on two cores).
demo_model_customers = 1_000
demo_model_days = 60
demo_model_trees = 100
DEMO_DATASET_FOLDER = "demo-dataset"
DEMO_EVENTS_FILE = "events.parquet"


def ensure_demo_model(registry_folder: Path, seed: int = 7) -> ModelVersion | None:
    """Give a registry without a champion one: simulate a labelled economy under the registry
    (`demo-dataset/`), keep what a payment request carries, train on it with the usual
    time-ordered split and make the model champion. Returns the new champion, or None when the
    registry already had one."""
    registry = ModelRegistry(registry_folder)
    if registry.champion() is not None:
        return None
    dataset = registry_folder / DEMO_DATASET_FOLDER
    config = SimulationConfig(customers=demo_model_customers, days=demo_model_days, seed=seed)
    write_dataset(config, dataset)
    # Only what the platform's payment requests carry: payee and cash agent, no device (the
    # simulator knows the phone; a payment through the API does not say it). Agent keys as
    # text, so a payment without an agent stays without one in the event file.
    simulated = load_payments(dataset / TRANSACTIONS_FILE)
    agents = None
    if simulated.agents is not None:
        agents = np.asarray(
            [None if key is None else f"agent-{key}" for key in simulated.agents.tolist()],
            dtype=object,
        )
    events = dataset / DEMO_EVENTS_FILE
    write_events(dataclasses.replace(simulated, devices=None, agents=agents), events)
    report = train_from_dataset(
        events,
        registry_folder,
        created_at=datetime.now(UTC),
        parameters=ModelParameters(trees=demo_model_trees, seed=seed, threads=1),
    )
    if report.version.role != "champion":
        return registry.promote(report.version.version)
    return report.version


def print_credentials(
    platform: Platform, credentials: DemoCredentials, base_url: str = "http://127.0.0.1:8000"
) -> None:
    """`base_url`: where `hazina serve` listens (its default when this only seeds)."""
    now_s = platform.clock.now_ns() // 1_000_000_000
    console.print("[bold]Demo operator[/bold] (console and POST /v1/operator-sessions)")
    console.print(f"  username: {credentials.username}   password: {credentials.password}")
    console.print(
        f"  TOTP secret: {credentials.totp_secret} (any authenticator app; code now: "
        f"{totp_code(credentials.totp_secret, now_s)}; or `hazina totp {credentials.totp_secret}`)"
    )
    console.print(
        f"[bold]Console[/bold] {base_url}/console/ (docs/console.md); one operator "
        "per role, same TOTP secret:"
    )
    for operator in DEMO_OPERATORS:
        console.print(
            f"  {operator.role.value}: username {operator.username}   password {operator.password}"
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
