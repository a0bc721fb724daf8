"""The credit model in the loan decision, end to end on a real platform (SQLite, PostgreSQL):
loans decided on policy alone record each applicant's wallet-history features; once their
outcomes are known, `hazina loans training-table` and `hazina credit train` make a model from
them, and a platform started with that registry scores new applicants with it: a steady
earner is approved with a good score, a thin-file customer declined with reason codes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hazina.bootstrap import CreditModelLoadError, build_platform
from hazina.cli.main import app
from hazina.credit.loans.domain.products import InterestMethod, LoanProduct
from hazina.credit.loans.service import day_of
from hazina.credit.wallet import wallet_feature_names
from hazina.kernel.clock import FixedClock
from tests.integration.platform_world import DAY_S, KES, Parties, database  # noqa: F401
from tests.unit.credit.synthetic import write_applicants

PRODUCT = LoanProduct(
    0, "Kuanza 30", KES, 100_000, 1_000_000, 1, 3, 30, InterestMethod.flat,
    500, 0, 0, 1_000, 5, 3_000, 1,
)  # fmt: skip
WEEK_S = 7 * DAY_S


def test_a_model_trained_on_loan_outcomes_scores_new_applicants(
    database: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    clock = FixedClock(1_763_000_000 * 10**9)
    platform = build_platform(database, clock=clock)
    parties = Parties(platform)
    loans = platform.loans
    agent = parties.agent("A001", 1_000_000_000)
    product = loans.create_product(PRODUCT, "test")
    # Twenty steady earners (weekly income) and twenty thin files (one cash-in); two of each
    # group go against type, so the outcome is not a copy of one feature.
    steady = [parties.customer(f"Steady {n}") for n in range(20)]
    thin = [parties.customer(f"Thin {n}") for n in range(20)]
    new_steady = parties.customer("New steady")
    new_thin = parties.customer("New thin")
    for week in range(12):
        for wallet in steady:
            parties.fund(agent, wallet, 30_000, 30_000)
        if week == 0:
            for wallet in thin:
                parties.fund(agent, wallet, 30_000, 30_000)
        clock.advance_seconds(WEEK_S)
    party_of = {
        wallet: platform.payments.find_party(phone=parties.phones[wallet]).id
        for wallet in [*steady, *thin, new_steady, new_thin]
    }
    repays = set(steady[:18]) | set(thin[:2])
    for wallet in [*steady, *thin]:
        loan = loans.apply(party_of[wallet], product.id, 100_000, 1)
        assert loan.status == "approved", loan.reasons  # policy only: no model yet
        loans.disburse(loan.id)
        record = loans.application(loan.id)
        assert record is not None
        assert record.assessment is None
        assert set(record.features) == set(wallet_feature_names)
        if wallet in repays:
            loans.repay(loan.id, loans.view(loan.id).balances.outstanding)
    # Eighteen weeks on: the unpaid loans are more than 90 days past due (stage 3). The new
    # steady earner keeps earning; the new thin file cashes in once.
    for week in range(18):
        parties.fund(agent, new_steady, 30_000, 30_000)
        if week == 10:
            parties.fund(agent, new_thin, 30_000, 30_000)
        clock.advance_seconds(WEEK_S)
    loans.close_day(day_of(clock.now_ns()) - 1)
    outcomes = loans.training_rows(limit=100)
    assert len(outcomes) == 40
    assert sum(defaulted for _, defaulted in outcomes) == 20
    platform.close()

    runner = CliRunner()
    table = tmp_path / "outcomes.csv"
    written = runner.invoke(
        app, ["loans", "training-table", "--database", database, "--output", str(table)]
    )
    assert written.exit_code == 0, written.output
    assert "40 loans with an outcome (20 defaulted)" in written.output
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["loan_id", *wallet_feature_names, "defaulted"]
    assert {row["inflow_weeks_share"] for row in rows} == {"1.0", str(1 / 12)}
    registry = tmp_path / "credit-models"
    trained = runner.invoke(
        app,
        [
            "credit",
            "train",
            "--dataset",
            str(table),
            "--target",
            "defaulted",
            "--drop",
            "loan_id",
            "--registry",
            str(registry),
        ],
    )
    assert trained.exit_code == 0, trained.output

    platform = build_platform(database, clock=clock, credit_registry=registry)
    try:
        loans = platform.loans
        good = loans.apply(party_of[new_steady], product.id, 100_000, 1)
        poor = loans.apply(party_of[new_thin], product.id, 100_000, 1)
        good_view = loans.view(good.id).assessment
        poor_view = loans.view(poor.id).assessment
        assert good_view is not None
        assert poor_view is not None
        assert good_view.model_version == poor_view.model_version == "v0001"
        assert good.status == "approved"
        assert good.default_bps == good_view.default_bps < product.max_default_probability_bps
        assert poor.status == "declined"
        assert poor.reasons == ("score_below_cutoff",)
        assert poor_view.default_bps > product.max_default_probability_bps
        assert poor_view.score < good_view.score
        assert "INFLOW_WEEKS_SHARE" in poor_view.reasons
    finally:
        platform.close()


def test_a_champion_not_trained_on_wallet_features_is_refused_at_start(tmp_path: Path) -> None:
    table = write_applicants(tmp_path / "bureau.csv", rows=600)
    registry = tmp_path / "credit-models"
    trained = CliRunner().invoke(
        app,
        [
            "credit",
            "train",
            "--dataset",
            str(table),
            "--target",
            "status",
            "--drop",
            "applicant_id",
            "--registry",
            str(registry),
        ],
    )
    assert trained.exit_code == 0, trained.output
    with pytest.raises(CreditModelLoadError, match="a wallet history does not give"):
        build_platform(str(tmp_path / "hazina.sqlite3"), credit_registry=registry)
