"""`hazina serve`: run the API (and, later, the console) over a database, seeding a demo first."""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from hazina.api.app import create_app
from hazina.bootstrap import Platform, build_platform, default_database
from hazina.cli.demo import print_credentials, seed_demo
from hazina.identity.totp import totp_code
from hazina.kernel.limits import housekeeping_interval_s

console = Console()


def _housekeeping(platform: Platform, stop: threading.Event) -> None:
    """Void timed-out bank transfers and refund expired vouchers, every few seconds."""
    while not stop.wait(housekeeping_interval_s):
        try:
            platform.payments.fail_expired_bank_transfers()
            platform.payments.refund_expired_vouchers()
        except Exception:
            console.print_exception()


def serve(
    database: Annotated[
        str, typer.Option("--database", "-d", help="SQLite file path, or postgresql://...")
    ] = default_database,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option(help="Seed the demo economy on first start")] = True,
    customers: Annotated[int, typer.Option(help="Demo customers to seed")] = 2_000,
) -> None:
    """Start the HTTP API on http://HOST:PORT (docs at /docs, spec at /openapi.json)."""
    platform = build_platform(database)
    stop = threading.Event()
    try:
        if demo:
            started = time.perf_counter()
            credentials, outcomes = seed_demo(platform, customers)
            if outcomes:
                console.print(
                    f"Seeded the demo: {sum(outcomes.values())} transactions "
                    f"in {time.perf_counter() - started:.1f} s"
                )
            print_credentials(platform, credentials)
        console.print(f"API:     http://{host}:{port}/v1   docs: http://{host}:{port}/docs")
        console.print(f"Spec:    http://{host}:{port}/openapi.json")
        worker = threading.Thread(target=_housekeeping, args=(platform, stop), daemon=True)
        worker.start()
        uvicorn.run(create_app(platform), host=host, port=port, log_level="warning")
    finally:
        stop.set()
        platform.close()


def totp(secret: Annotated[str, typer.Argument(help="A base32 TOTP secret")]) -> None:
    """Print the current TOTP code of a secret (for the demo operator)."""
    console.print(totp_code(secret, int(time.time())))
