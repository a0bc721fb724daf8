"""`hazina`: the platform's command line. Every command has `--help`."""

from __future__ import annotations

import typer

from hazina.cli import assist, cbdc, credit, demo, ledger, loans, risk, serve, simulate, webhooks

app = typer.Typer(
    name="hazina",
    help="Hazina: an open digital-finance platform (ledger, payments, risk, credit, CBDC).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(ledger.app, name="ledger")
app.add_typer(risk.app, name="risk")
app.add_typer(credit.app, name="credit")
app.add_typer(loans.app, name="loans")
app.add_typer(cbdc.app, name="cbdc")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(assist.app, name="assist")
app.command(name="demo")(demo.demo)
app.command(name="serve")(serve.serve)
app.command(name="simulate")(simulate.simulate)
app.command(name="totp")(serve.totp)


if __name__ == "__main__":  # pragma: no cover
    app()
