"""`hazina webhooks ...`: deliver the outbox's events to partners' webhook endpoints.

`hazina serve` runs the same pass every `webhook_delivery_interval_s` (`webhooks_job`, over
the home platform and every tenant's); the command is for a deployment that sends from a
separate process (cron, a worker), and for looking at what one pass does. http and loopback
endpoints are allowed only with `HAZINA_WEBHOOKS_ALLOW_HTTP_LOOPBACK=1` (local development).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated

import typer
from rich.console import Console

from hazina.bootstrap import Platform, build_platform, default_database
from hazina.partners.webhooks import SendReport, WebhookService, WebhookServices

app = typer.Typer(help="Webhooks: deliver platform events to partners' endpoints.")
console = Console()


def deliver_pass(service: WebhookService) -> tuple[int, SendReport]:
    """Dispatch new outbox events into deliveries, then send the due ones."""
    created = service.dispatch()
    return created, service.send_due()


def describe(created: int, report: SendReport) -> str:
    return (
        f"webhooks: {created} new deliveries; {report.delivered} delivered, "
        f"{report.retrying} to retry, {report.dead} dead-lettered"
    )


def webhooks_job(platforms: Callable[[], Iterable[Platform]]) -> Callable[[], None]:
    """The server's background job over the platforms `platforms` returns at each pass (the
    home one and each tenant's): one service (and HTTP client) per platform while it lives.
    One platform's failure is printed and the others still run."""
    services = WebhookServices()

    def job() -> None:
        for platform in platforms():
            try:
                created, report = deliver_pass(services.of(platform))
            except Exception:
                console.print_exception()
                continue
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
    services = WebhookServices()
    try:
        console.print(describe(*deliver_pass(services.of(platform))))
    finally:
        services.close()
        platform.close()
