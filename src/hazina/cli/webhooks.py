"""`hazina webhooks ...`: deliver the outbox's events to partners' webhook endpoints.

`hazina serve` runs the same pass every `webhook_delivery_interval_s` (`webhooks_job`); the
command is for a deployment that sends from a separate process (cron, a worker), and for
looking at what one pass does. http and loopback endpoints are allowed only with
`HAZINA_WEBHOOKS_ALLOW_HTTP_LOOPBACK=1` (local development).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from hazina.bootstrap import Platform, build_platform, default_database
from hazina.partners.webhooks import (
    SendReport,
    WebhookService,
    allow_http_loopback_from_environment,
)

app = typer.Typer(help="Webhooks: deliver platform events to partners' endpoints.")
console = Console()


def webhook_service(platform: Platform) -> WebhookService:
    return WebhookService(
        platform.ledger,
        platform.clock,
        platform.ids,
        platform.payments,
        allow_http_loopback=allow_http_loopback_from_environment(),
    )


def deliver_pass(service: WebhookService) -> tuple[int, SendReport]:
    """Dispatch new outbox events into deliveries, then send the due ones."""
    created = service.dispatch()
    return created, service.send_due()


def describe(created: int, report: SendReport) -> str:
    return (
        f"webhooks: {created} new deliveries; {report.delivered} delivered, "
        f"{report.retrying} to retry, {report.dead} dead-lettered"
    )


def webhooks_job(platform: Platform) -> Callable[[], None]:
    """The server's background job: one service (and HTTP client) for the server's life."""
    service = webhook_service(platform)

    def job() -> None:
        created, report = deliver_pass(service)
        if created or report.delivered or report.retrying or report.dead:
            console.print(describe(created, report))

    return job


@app.command()
def deliver(
    database: Annotated[
        str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
    ] = default_database,
) -> None:
    """One pass: turn new outbox events into deliveries and send every delivery that is due."""
    platform = build_platform(database)
    service = webhook_service(platform)
    try:
        console.print(describe(*deliver_pass(service)))
    finally:
        service.close()
        platform.close()
