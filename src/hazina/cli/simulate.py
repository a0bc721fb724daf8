"""`hazina simulate`: run the seeded economy simulator.

Without `--to-parquet` it drives a platform (the database of `--database`) through the payments
service, with the platform's clock following simulated time; with `--to-parquet DIR` it writes
the labelled dataset instead. Either way it ends with a summary.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hazina.bootstrap import build_platform, default_database
from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import simulator_driver_lanes
from hazina.ledger.audit import verify
from hazina.sim.behaviour import nanoseconds_per_day
from hazina.sim.driver import DayResult, drive
from hazina.sim.generator import Day, Simulation, SimulationConfig, default_start_ns

console = Console()


def _start_ns(start: str | None, days: int, driving: bool) -> int:
    """Midnight UTC of the first simulated day: `--start`; else, when driving, `days` before
    today, so the history ends today; else (a dataset) a fixed day, so that a dataset depends
    on its options alone."""
    if start is not None:
        try:
            day = date.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"expected a date like 2026-01-05, got {start!r}") from None
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 10**9
    if not driving:
        return default_start_ns
    today_ns = time.time_ns() // nanoseconds_per_day * nanoseconds_per_day
    return today_ns - days * nanoseconds_per_day


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[events]:>10,} events"),
        TimeElapsedColumn(),
        console=console,
    )


def simulate(
    customers: Annotated[int, typer.Option(help="Customers in the economy")] = 10_000,
    days: Annotated[int, typer.Option(help="Days to simulate")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same economy")] = 7,
    database: Annotated[
        str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
    ] = default_database,
    to_parquet: Annotated[
        Path | None,
        typer.Option(
            "--to-parquet", help="Write the labelled dataset to this folder instead of driving"
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First simulated day, YYYY-MM-DD (default: 2026-01-05 for a dataset;"
            " a drive ends today)"
        ),
    ] = None,
    episodes: Annotated[
        float, typer.Option(help="Scale of the fraud and laundering episode rates")
    ] = 1.0,
    lanes: Annotated[
        int, typer.Option(help="Payments the driver keeps in flight")
    ] = simulator_driver_lanes,
) -> None:
    """Simulate a mobile-money economy: drive a platform, or write a Parquet dataset."""
    if not 1 <= lanes <= simulator_driver_lanes:
        raise typer.BadParameter(f"--lanes must be 1..{simulator_driver_lanes}")
    config = SimulationConfig(
        customers=customers,
        days=days,
        seed=seed,
        start_ns=_start_ns(start, days, driving=to_parquet is None),
        episode_rate_scale=episodes,
    )
    if to_parquet is not None:
        _write(config, to_parquet)
    else:
        _drive(config, database, lanes)


def _write(config: SimulationConfig, directory: Path) -> None:
    from hazina.sim.parquet import write_dataset

    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("simulating days", total=config.days, events=0)
        written = 0

        def on_day(day: Day) -> None:
            nonlocal written
            written += len(day.events)
            progress.update(task, advance=1, events=written)

        summary = write_dataset(config, directory, on_day)
    elapsed = time.perf_counter() - started
    table = Table(title=f"Dataset: {summary.rows:,} transactions in {elapsed:.1f} s")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("transactions per second", f"{summary.rows / elapsed:,.0f}")
    table.add_row("customer activity (PaySim-typed)", f"{summary.activity_rows:,}")
    table.add_row("labelled fraud", f"{summary.fraud_rows:,}")
    table.add_row("labelled laundering", f"{summary.laundering_rows:,}")
    for name, count in summary.episodes.items():
        table.add_row(f"episodes: {name}", f"{count:,}")
    for reason, count in summary.dropped_by_reason.items():
        table.add_row(f"not attempted: {reason}", f"{count:,}")
    console.print(table)
    checks = Table(title="Calibration against PaySim")
    for column in ("figure", "target", "generated", "tolerance", ""):
        checks.add_column(column, justify="left" if column == "figure" else "right")
    for check in summary.checks:
        share = check.name.startswith("share")
        scale = 1.0 if share else 100.0  # amounts are shown in KES, from cents
        shown = "{:.2%}" if share else "KES {:,.2f}"
        checks.add_row(
            check.name,
            shown.format(check.target / scale),
            shown.format(check.measured / scale),
            shown.format(check.tolerance / scale),
            "ok" if check.ok else "[red]off[/red]",
        )
    console.print(checks)
    console.print(f"Wrote {summary.transactions_path} and {summary.parties_path}")


def _drive(config: SimulationConfig, database: str, lanes: int) -> None:
    clock = FixedClock(config.start_ns)
    platform = build_platform(database, clock=clock)
    try:
        simulation = Simulation(config)
        population = simulation.population
        started = time.perf_counter()
        with _progress() as progress:
            registering: TaskID = progress.add_task(
                "registering parties", total=population.first_unregistered, events=0
            )
            simulating = progress.add_task("simulating days", total=config.days, events=0)
            done = 0

            def on_registered(count: int) -> None:
                progress.advance(registering, count)

            def on_progress(count: int) -> None:
                nonlocal done
                done += count
                progress.update(simulating, events=done)

            def on_day(day: Day, result: DayResult) -> None:
                progress.advance(simulating, 1)

            summary = drive(
                platform.payments,
                simulation.days(),
                population,
                config.currency,
                clock=clock,
                lanes=lanes,
                on_registered=on_registered,
                on_progress=on_progress,
                on_day=on_day,
            )
        elapsed = time.perf_counter() - started
        table = Table(
            title=f"Simulated {config.days} days of {config.customers:,} customers:"
            f" {summary.events:,} transactions in {elapsed:.1f} s"
            f" ({summary.events / elapsed:,.0f}/s)"
        )
        table.add_column("outcome")
        table.add_column("count", justify="right")
        table.add_row("parties registered", f"{summary.parties:,}")
        for kind, count in sorted(summary.by_kind.items()):
            table.add_row(f"ok: {kind}", f"{count:,}")
        for kind, count in sorted(summary.held.items()):
            table.add_row(f"held by risk control: {kind}", f"{count:,}")
        for code, count in sorted(summary.refused.items()):
            table.add_row(f"refused: {code}", f"{count:,}")
        for label, count in sorted(summary.labelled.items()):
            table.add_row(f"labelled {label}", f"{count:,}")
        table.add_row("vouchers refunded on expiry", f"{summary.vouchers_refunded:,}")
        console.print(table)
        report = verify(platform.ledger.store)
        console.print(
            f"Ledger verify: {'OK' if report.ok else 'BROKEN'} "
            f"({report.journal_entries} journal entries, {report.transfers} transfers)"
        )
    finally:
        platform.close()
