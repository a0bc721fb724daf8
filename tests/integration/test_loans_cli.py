"""`hazina loans ...` over a SQLite platform database: the lifecycle and refusals."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from hazina.bootstrap import build_platform
from hazina.cli.main import app
from hazina.payments.domain.chart import PartyKind
from hazina.payments.domain.limits import KycTier

PHONE = "+254712000001"


def test_product_apply_disburse_repay_and_close_day(tmp_path: Path) -> None:
    database = str(tmp_path / "hazina.sqlite3")
    platform = build_platform(database)
    platform.payments.register_party(
        PartyKind.customer, "Alice", ["KES"], phone=PHONE, kyc_tier=KycTier.full
    )
    platform.close()
    runner = CliRunner()

    def run(*arguments: str) -> str:
        result = runner.invoke(app, ["loans", *arguments, "--database", database])
        assert result.exit_code == 0, result.output
        return result.output

    created = run(
        "create-product", "--name", "Biashara", "--amount-min", "1000", "--amount-max",
        "50000", "--term-max", "6", "--rate-bps", "1000", "--fee-bps", "100",
    )  # fmt: skip
    product = re.search(r"lpr_[0-9a-f]{16}", created)
    assert product is not None
    assert "Biashara" in run("products")
    decided = run("apply", "--phone", PHONE, "--product", product.group(), "--amount", "10000",
                  "--term", "3")  # fmt: skip
    assert "approved" in decided
    loan = re.search(r"lon_[0-9a-f]{16}", decided)
    assert loan is not None
    disbursed = run("disburse", loan.group())
    assert "active" in disbursed
    assert "3021.15" in disbursed  # the hand-checked schedule's first principal
    twice = runner.invoke(app, ["loans", "disburse", loan.group(), "--database", database])
    assert twice.exit_code == 1
    assert "loan_already_disbursed" in twice.output
    too_much = runner.invoke(
        app, ["loans", "repay", loan.group(), "10000.01", "--database", database]
    )
    assert too_much.exit_code == 1
    assert "repayment_exceeds_outstanding" in too_much.output
    assert "principal 500000" in run("repay", loan.group(), "5000")
    assert "1 active loans closed" in run("close-day")
    assert "1 active loans closed" in run("close-day")
    assert "outstanding 500000" in run("show", loan.group())
    assert "0 loans swept" in run("sweep")  # nothing is due yet
    outside = runner.invoke(
        app,
        ["loans", "apply", "--phone", PHONE, "--product", product.group(), "--amount", "1",
         "--term", "3", "--database", database],
    )  # fmt: skip
    assert outside.exit_code == 1
    assert "amount_outside_product" in outside.output
