"""What the business commands share: a platform over `--database` whose refusals end the
command with their stable code and exit status 1, and ids given as options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from hazina.api.problems import ProblemError
from hazina.bootstrap import ModelLoadError, Platform, build_platform
from hazina.kernel.ids import parse_prefixed
from hazina.payments.errors import PaymentError

console = Console()


@contextmanager
def refusals_exit(database: str, credit_registry: Path | None = None) -> Iterator[Platform]:
    """The platform over `database`, closed afterwards; a refusal (a `PaymentError` or a
    problem) prints `refused <code>: <why>` and exits 1, as does a model that cannot load."""
    try:
        platform = build_platform(database, credit_registry=credit_registry)
    except ModelLoadError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    try:
        yield platform
    except PaymentError as error:
        console.print(f"[red]refused[/red] {error.code}: {error.message}")
        raise typer.Exit(1) from None
    except ProblemError as error:
        console.print(f"[red]refused[/red] {error.code}: {error.detail}")
        raise typer.Exit(1) from None
    finally:
        platform.close()


def id_option(prefix: str, text: str, option: str) -> int:
    """An id given on the command line (`lon_...`), or a usage error naming the option."""
    try:
        return parse_prefixed(prefix, text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None
