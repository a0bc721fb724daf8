"""`hazina serve`: run the API (and, later, the console) over a database, seeding a demo first.

Beside the API, background threads keep the platform's housekeeping going: timed-out holds
and vouchers every `housekeeping_interval_s`; matured payments labelled genuine every
`risk_labelling_interval_s`; the AML scenarios over the recent payments every
`aml_scan_interval_s` (both also right after start); loans' repayments collected from wallets
that received money every `loan_sweep_interval_s`; the loans' end of day (accrual, penalties,
ageing, provisions; idempotent, so it is simply run again) every `loan_close_day_interval_s`
and at start; webhooks (new outbox events dispatched, due deliveries sent) every
`webhook_delivery_interval_s`.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from hazina.api.app import create_app
from hazina.bootstrap import (
    CreditModelLoadError,
    ModelLoadError,
    Platform,
    build_platform,
    default_database,
    default_model_registry,
)
from hazina.cli.demo import ensure_demo_model, print_credentials, seed_demo
from hazina.cli.webhooks import webhooks_job
from hazina.credit.loans.service import day_of
from hazina.identity.totp import totp_code
from hazina.kernel.limits import (
    aml_scan_interval_s,
    housekeeping_interval_s,
    loan_close_day_interval_s,
    loan_sweep_interval_s,
    oauth_key_rotation_interval_s,
    partner_settlement_interval_s,
    partner_usage_flush_interval_s,
    risk_labelling_interval_s,
    webhook_delivery_interval_s,
)
from hazina.partners.gateway import Partners
from hazina.partners.tenants import home_slug
from hazina.risk.aml.monitoring import scan_payments
from hazina.risk.registry import RegistryError

console = Console()


def _housekeeping(platform: Platform) -> None:
    """Void timed-out bank transfers and refund expired vouchers."""
    platform.payments.fail_expired_bank_transfers()
    platform.payments.refund_expired_vouchers()


def label_matured(platform: Platform) -> None:
    """Label genuine the screened payments that passed the label delay unreported."""
    report = platform.risk.label_matured(platform.payments)
    if report.labelled:
        console.print(f"risk: {report.labelled} matured payments labelled genuine")


def aml_scan(platform: Platform, currencies: tuple[str, ...]) -> None:
    """Run the AML scenarios over the recent payments of each currency; open cases."""
    for currency_code in currencies:
        report = scan_payments(
            platform.payments, platform.cases, currency_code, platform.clock.now_ns()
        )
        if report.cases:
            console.print(
                f"aml: {len(report.cases)} cases opened or updated from {report.alerts} alerts "
                f"over {report.transactions} {currency_code} payments"
            )


def loans_sweep(platform: Platform) -> None:
    """Collect what is due on loans whose borrowers' wallets received money."""
    swept = platform.loans.sweep_inflows()
    if swept:
        console.print(f"loans: {len(swept)} repayments collected from inflows")


def loans_close_day(platform: Platform) -> None:
    """Close the loans' day through yesterday: catches up missed days, a no-op when done."""
    results = platform.loans.close_day(day_of(platform.clock.now_ns()) - 1)
    accrued = sum(result.accrued for result in results)
    if accrued:
        console.print(f"loans: end of day over {len(results)} loans, {accrued} interest accrued")


def tenant_slugs(partners: Partners) -> list[str]:
    return [home_slug, *(tenant.slug for tenant in partners.tenants.list())]


def platforms(partners: Partners) -> list[Platform]:
    """The home platform and every tenant's."""
    return [partners.tenants.platform(slug) for slug in tenant_slugs(partners)]


def every_tenant(partners: Partners, job: Callable[[Platform], None]) -> Callable[[], None]:
    """`job` over the home platform and every tenant's (sandboxes included), one by one; one
    tenant's failure is printed and the others still run."""

    def run() -> None:
        for slug in tenant_slugs(partners):
            try:
                job(partners.tenants.platform(slug))
            except Exception:
                console.print(f"[red]{slug}:[/]")
                console.print_exception()

    return run


def settle_partners(partners: Partners) -> None:
    """Pay partners their revenue share, in the home tenant and every other."""
    for slug in tenant_slugs(partners):
        settled = partners.apps(slug).settle_revenue_share()
        paid = sum(each.share for each in settled)
        if paid:
            console.print(f"partners: {len(settled)} payments settled in {slug}, {paid} paid")


def rotate_keys(partners: Partners) -> None:
    """A new token signing key; the one before stays for tokens it signed."""
    console.print(f"partners: signing key {partners.tokens.rotate_keys()} is current")


def _every(
    interval_s: int, job: Callable[[], None], stop: threading.Event, *, at_start: bool
) -> None:
    """Run `job` every `interval_s` until `stop`; an error is printed, never fatal."""
    if at_start and not stop.is_set():
        _run_logged(job, stop)
    while not stop.wait(interval_s):
        _run_logged(job, stop)


def _run_logged(job: Callable[[], None], stop: threading.Event) -> None:
    try:
        job()
    except Exception:
        if not stop.is_set():  # a job cut short by the shutdown closing the database is not news
            console.print_exception()


def serve(
    database: Annotated[
        str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
    ] = default_database,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option(help="Seed the demo economy on first start")] = True,
    customers: Annotated[int, typer.Option(help="Demo customers to seed")] = 2_000,
    model_registry: Annotated[
        Path,
        typer.Option(
            "--model-registry",
            envvar="HAZINA_MODEL_REGISTRY",
            help="Fraud model registry whose champion scores payments (with --demo, one is "
            "trained there if it has no champion)",
        ),
    ] = Path(default_model_registry),
    model: Annotated[
        bool, typer.Option("--model/--no-model", help="Score payments with the champion model")
    ] = True,
    credit_registry: Annotated[
        Path | None,
        typer.Option(
            "--credit-registry",
            envvar="HAZINA_CREDIT_REGISTRY",
            help="Credit model registry whose champion (trained on wallet-history features, "
            "see docs/loans.md) scores loan applications; without it, policy rules decide",
        ),
    ] = None,
) -> None:
    """Start the HTTP API on http://HOST:PORT (docs at /docs, spec at /openapi.json)."""
    if model and demo:
        started = time.perf_counter()
        try:
            trained = ensure_demo_model(model_registry)
        except RegistryError as error:
            console.print(f"[red]Model registry {model_registry}: {error}[/]")
            raise typer.Exit(code=1) from error
        if trained is not None:
            console.print(
                f"Trained the demo fraud model {trained.version} on simulated payments in "
                f"{time.perf_counter() - started:.1f} s (ROC AUC "
                f"{float(trained.metrics.get('roc_auc', float('nan'))):.3f}) into {model_registry}"
            )
    currencies = ("KES",)
    try:
        platform = build_platform(
            database,
            currencies=currencies,
            model_registry=model_registry if model else None,
            credit_registry=credit_registry,
        )
    except (ModelLoadError, RegistryError) as error:
        console.print(f"[red]{error}[/]")
        if isinstance(error, CreditModelLoadError):
            console.print(
                f"`hazina credit models --registry {credit_registry}` lists the versions, "
                f"`hazina credit promote VERSION --registry {credit_registry}` makes one trained "
                "on wallet-history features champion; or start without --credit-registry."
            )
        else:
            console.print(
                f"`hazina risk models --registry {model_registry}` lists the versions, `hazina "
                f"risk promote VERSION --registry {model_registry}` makes a working one "
                "champion; or start with --no-model."
            )
        raise typer.Exit(code=1) from error
    stop = threading.Event()
    partners = Partners(platform, database)
    try:
        if demo:
            started = time.perf_counter()
            credentials, outcomes = seed_demo(platform, customers)
            if outcomes:
                payments = sum(v for k, v in outcomes.items() if not k.startswith("loan:"))
                console.print(
                    f"Seeded the demo: {payments} transactions and "
                    f"{outcomes['loan:disbursed']} loans disbursed "
                    f"in {time.perf_counter() - started:.1f} s"
                )
            print_credentials(platform, credentials, f"http://{host}:{port}")
        in_use = platform.risk.model_version
        console.print(
            f"Fraud model: {in_use} from {model_registry}"
            if in_use is not None
            else "Fraud model: none in use (rules only)"
        )
        credit_in_use = getattr(platform.loans.score, "version", None)
        console.print(
            f"Credit model: {credit_in_use} from {credit_registry}"
            if credit_in_use is not None
            else "Credit model: none in use (loan policy rules only)"
        )
        console.print(f"API:     http://{host}:{port}/v1   docs: http://{host}:{port}/docs")
        console.print(f"Spec:    http://{host}:{port}/openapi.json")
        workers = [
            (housekeeping_interval_s, every_tenant(partners, _housekeeping), False),
            (risk_labelling_interval_s, every_tenant(partners, label_matured), True),
            (aml_scan_interval_s, every_tenant(partners, lambda p: aml_scan(p, currencies)), True),
            (loan_sweep_interval_s, every_tenant(partners, loans_sweep), False),
            (loan_close_day_interval_s, every_tenant(partners, loans_close_day), True),
            (webhook_delivery_interval_s, webhooks_job(lambda: platforms(partners)), True),
            (partner_usage_flush_interval_s, partners.flush_usage, False),
            (partner_settlement_interval_s, lambda: settle_partners(partners), False),
            (oauth_key_rotation_interval_s, lambda: rotate_keys(partners), False),
        ]
        for interval_s, job, at_start in workers:
            threading.Thread(
                target=_every,
                args=(interval_s, job, stop),
                kwargs={"at_start": at_start},
                daemon=True,
            ).start()
        app = create_app(platform, partners=partners)
        # Everything built so far (modules, the platform, the warmed-up risk features) lives
        # as long as the server: keep it out of the cyclic collector's full passes, which
        # would otherwise walk it every few seconds under load (pauses of tens of ms).
        gc.collect()
        gc.freeze()
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        partners.close()
        platform.close()


def totp(secret: Annotated[str, typer.Argument(help="A base32 TOTP secret")]) -> None:
    """Print the current TOTP code of a secret (for the demo operator)."""
    console.print(totp_code(secret, int(time.time())))
