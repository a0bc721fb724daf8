"""`hazina risk label-matured | aml-scan | drift`: risk control over a platform database.

What `hazina serve` also does in the background (labelling, AML scans), run once from the
command line, e.g. from cron when no server runs or to backfill, and the drift report of a
registered model against the platform's recent payments. A server keeps features in memory:
labels written by this command reach a running server's features when it next starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hazina.bootstrap import build_platform, default_database, default_model_registry
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import aml_scan_window_s, risk_drift_days_max, risk_warm_up_payments_max
from hazina.kernel.money import CurrencyError, currency
from hazina.risk.aml.monitoring import scan_payments
from hazina.risk.drift import moderate_shift_psi, significant_shift_psi
from hazina.risk.live_drift import NoRecentPaymentsError, RecentDrift, drift_window_ns, model_drift
from hazina.risk.registry import ModelRegistry, RegistryError

console = Console()
seconds_per_day = 86_400

DatabaseOption = Annotated[
    str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
]


def label_matured_command(database: DatabaseOption = default_database) -> None:
    """Label genuine every screened payment that passed the label delay (7 days) without a
    fraud report; a second run labels nothing new."""
    platform = build_platform(database)
    try:
        report = platform.risk.label_matured(platform.payments)
        counts = platform.risk.label_counts()
    finally:
        platform.close()
    console.print(
        f"labelled {report.labelled} matured payments genuine ({report.skipped} held, failed "
        f"or reversed left unlabelled); labels kept: {counts['fraud']} fraud, "
        f"{counts['genuine_review']} genuine by review, {counts['genuine_matured']} genuine "
        "by maturity"
    )


def aml_scan_command(
    database: DatabaseOption = default_database,
    currency_code: Annotated[str, typer.Option("--currency", help="ISO 4217 code")] = "KES",
    days: Annotated[
        int, typer.Option(help="Days of payments to scan, up to the scan window")
    ] = aml_scan_window_s // seconds_per_day,
) -> None:
    """Run the AML scenarios over the platform's recent payments and open cases for new
    alerts on customers' wallets (a second scan of the same payments opens nothing)."""
    try:
        currency(currency_code)
    except CurrencyError as error:
        raise typer.BadParameter(str(error), param_hint="--currency") from None
    if not 1 <= days <= aml_scan_window_s // seconds_per_day:
        raise typer.BadParameter(
            f"between 1 and {aml_scan_window_s // seconds_per_day}", param_hint="--days"
        )
    platform = build_platform(database)
    try:
        report = scan_payments(
            platform.payments,
            platform.cases,
            currency_code,
            platform.clock.now_ns(),
            window_s=days * seconds_per_day,
        )
    finally:
        platform.close()
    console.print(
        f"scanned {report.transactions} {currency_code} payments between {report.accounts} "
        f"wallets in {report.elapsed_s:.2f} s: {report.alerts} alerts on customers' wallets, "
        f"{len(report.cases)} cases opened or joined by new alerts"
    )
    if report.cases:
        table = Table()
        for column in ("case", "wallet", "status", "scenarios", "summary"):
            table.add_column(column)
        for case in report.cases:
            table.add_row(
                prefixed("cas", case.id),
                prefixed("wal", case.subject_account),
                case.status.value,
                ", ".join(case.scenarios),
                case.summary[:120],
            )
        console.print(table)


def drift_command(
    database: DatabaseOption = default_database,
    registry: Annotated[
        Path, typer.Option("--model-registry", "--registry", help="Model registry folder")
    ] = Path(default_model_registry),
    version: Annotated[
        str | None, typer.Option(help="Model version (default: the champion)")
    ] = None,
    days: Annotated[int, typer.Option(help="Recent days of payments to compare")] = 7,
    top: Annotated[int, typer.Option(help="Features to list, most shifted first")] = 15,
) -> None:
    """PSI per feature and on the score between the model's training data and the
    platform's recent payments (below 0.1 stable, 0.1-0.25 moderate, above 0.25 significant)."""
    if not 1 <= days <= risk_drift_days_max:
        raise typer.BadParameter(f"between 1 and {risk_drift_days_max}", param_hint="--days")
    platform = build_platform(database)
    try:
        replay_from_ns, since_ns = drift_window_ns(platform.clock.now_ns(), days)
        history = platform.payments.screened_history(replay_from_ns, risk_warm_up_payments_max)
        labels = platform.risk.stored_labels(replay_from_ns, risk_warm_up_payments_max)
        result = model_drift(ModelRegistry(registry), version, history, labels, since_ns)
    except (RegistryError, NoRecentPaymentsError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    finally:
        platform.close()
    typer.echo(
        f"model {result.version}: drift of the last {days} days ({result.payments} payments) "
        f"against its training data; PSI below {moderate_shift_psi} stable, below "
        f"{significant_shift_psi} moderate, else significant"
    )
    console.print(render_drift(result, top))


def render_drift(result: RecentDrift, top: int) -> Table:
    """The score's PSI, then the `top` most shifted features."""
    table = Table()
    for column in ("", "PSI", "level"):
        table.add_column(column)
    table.add_row("[bold]score[/]", f"{result.report.score_psi:.4f}", result.score_level.value)
    for name, psi, level in result.features_by_shift()[: max(top, 0)]:
        table.add_row(name, f"{psi:.4f}", level.value)
    return table
