"""Drift of the champion against the platform's recent payments, on SQLite and PostgreSQL:
the replay reproduces the features the payment path computed, PSI is reported per feature and
on the score with the 0.1 / 0.25 levels, a shifted population reads as significant, and the
API and the CLI answer with it (or with clear refusals)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hazina.bootstrap import Platform, build_platform
from hazina.cli.main import app
from hazina.identity.roles import Scope
from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import risk_warm_up_payments_max
from hazina.risk.drift import drift_level
from hazina.risk.live_drift import drift_window_ns, model_drift, recent_features
from hazina.risk.service import PaymentFacts
from tests.integration.platform_world import (
    DAY_S,
    KES,
    START_NS,
    Parties,
    database,
    demo_registry,
    trained_registry,
)
from tests.unit.api.client import TestClient

__all__ = ["database", "demo_registry", "trained_registry"]  # fixtures used by name


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_NS)


@pytest.fixture
def platform(database: str, clock: FixedClock, demo_registry: Path) -> Iterator[Platform]:
    built = build_platform(database, clock=clock, model_registry=demo_registry)
    yield built
    built.close()


def everyday_payments(parties: Parties, clock: FixedClock, amount_minor: int) -> list[int]:
    """Six customers paying each other for three days; wallets."""
    agent = parties.agent("AG1", 100_000_000_00)
    wallets = [parties.customer(f"Customer {n}") for n in range(6)]
    for wallet in wallets:
        parties.fund(agent, wallet, 400_000_00, 100_000_00)
    for day in range(3):
        for number, payer in enumerate(wallets):
            clock.advance_seconds(3_000 + 97 * number)
            parties.send(payer, wallets[(number + day + 1) % len(wallets)], amount_minor + number)
        clock.advance_seconds(DAY_S // 2)
    return wallets


def test_the_replay_reproduces_the_features_of_the_payment_path(
    platform: Platform, clock: FixedClock
) -> None:
    parties = Parties(platform)
    wallets = everyday_payments(parties, clock, 1_250_00)
    payer = platform.payments.get_wallet(wallets[0])
    payee = platform.payments.get_wallet(wallets[1])
    facts = PaymentFacts(
        "p2p", KES, 987_00, payer.party_id, 2, payee.party_id, "customer", clock.now_ns()
    )
    live = platform.risk.engine.features_for(facts.event())  # what screening will compute
    parties.send(wallets[0], wallets[1], 987_00)
    replay_from, since = drift_window_ns(clock.now_ns(), 7)
    matrix = recent_features(
        platform.payments.screened_history(replay_from, risk_warm_up_payments_max),
        platform.risk.stored_labels(replay_from, risk_warm_up_payments_max),
        platform.risk.engine.config,
        since,
    )
    assert matrix.values.shape == (19, len(live))
    np.testing.assert_array_equal(matrix.values[-1], np.asarray(live, dtype=np.float32))


def test_psi_per_feature_and_on_the_score(platform: Platform, clock: FixedClock) -> None:
    assert platform.models is not None
    everyday_payments(Parties(platform), clock, 1_250_00)
    replay_from, since = drift_window_ns(clock.now_ns(), 7)
    result = model_drift(
        platform.models,
        None,
        platform.payments.screened_history(replay_from, risk_warm_up_payments_max),
        platform.risk.stored_labels(replay_from, risk_warm_up_payments_max),
        since,
    )
    assert result.version == "v0001"
    assert result.payments == 18
    shifts = result.features_by_shift()
    assert [name for name, _psi, _level in shifts] != []
    assert {name for name, _psi, _level in shifts} == set(platform.risk.engine.names)
    for _name, psi, level in shifts:
        assert math.isfinite(psi)
        assert psi >= 0.0
        assert level is drift_level(psi)
    assert [psi for _name, psi, _level in shifts] == sorted(
        (psi for _name, psi, _level in shifts), reverse=True
    )
    assert math.isfinite(result.report.score_psi)


def test_a_shifted_population_reads_as_significant(platform: Platform, clock: FixedClock) -> None:
    """KES 90,000 payments, far above nearly every simulated training payment."""
    assert platform.models is not None
    everyday_payments(Parties(platform), clock, 90_000_00)
    replay_from, since = drift_window_ns(clock.now_ns(), 7)
    result = model_drift(
        platform.models,
        "v0001",
        platform.payments.screened_history(replay_from, risk_warm_up_payments_max),
        platform.risk.stored_labels(replay_from, risk_warm_up_payments_max),
        since,
    )
    psi = dict(result.report.feature_psi)
    assert psi["amount_minor"] > 0.25
    assert drift_level(psi["amount_minor"]).value == "significant"


def test_the_api_lists_models_and_reports_drift(platform: Platform, clock: FixedClock) -> None:
    key = platform.identity.issue_key("test", "tests", [Scope.risk_read], "tests").plaintext
    headers = {"Authorization": f"Bearer {key}"}
    from hazina.api.app import create_app

    with TestClient(create_app(platform)) as client:
        empty = client.get("/v1/risk/models/champion/drift", headers=headers)
        assert empty.status_code == 422, empty.text
        assert empty.json()["code"] == "drift_no_payments"
        everyday_payments(Parties(platform), clock, 1_250_00)
        models = client.get("/v1/risk/models", headers=headers)
        assert models.status_code == 200, models.text
        (model,) = models.json()
        assert (model["version"], model["role"], model["in_use"]) == ("v0001", "champion", True)
        assert model["features"] == len(platform.risk.engine.names)
        report = client.get("/v1/risk/models/v0001/drift?days=3", headers=headers)
        assert report.status_code == 200, report.text
        body = report.json()
        assert (body["version"], body["days"], body["payments"]) == ("v0001", 3, 18)
        assert body["thresholds"] == {"moderate": 0.1, "significant": 0.25}
        assert body["score_level"] == drift_level(body["score_psi"]).value
        assert len(body["features"]) == len(platform.risk.engine.names)
        unknown = client.get("/v1/risk/models/v0099/drift", headers=headers)
        assert unknown.status_code == 404
        assert unknown.json()["code"] == "model_version_unknown"
        assert client.get("/v1/risk/models/v1/drift", headers=headers).status_code == 422
        too_long = client.get("/v1/risk/models/v0001/drift?days=31", headers=headers)
        assert too_long.status_code == 422
        decisions = client.get("/v1/risk/decisions?limit=5", headers=headers)
        assert decisions.status_code == 200, decisions.text  # missing features answer null
        assert all(d["model_version"] == "v0001" for d in decisions.json()["data"])


def test_the_api_without_a_registry(database: str, clock: FixedClock) -> None:
    built = build_platform(database, clock=clock)
    try:
        key = built.identity.issue_key("test", "tests", [Scope.risk_read], "tests").plaintext
        from hazina.api.app import create_app

        with TestClient(create_app(built)) as client:
            answer = client.get("/v1/risk/models", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 404
            assert answer.json()["code"] == "model_registry_missing"
    finally:
        built.close()


def test_the_cli_reports_drift(demo_registry: Path, tmp_path: Path) -> None:
    path = tmp_path / "hazina.sqlite3"
    clock = FixedClock(time.time_ns() - 3 * DAY_S * 1_000_000_000)
    platform = build_platform(str(path), clock=clock, model_registry=demo_registry)
    try:
        everyday_payments(Parties(platform), clock, 1_250_00)
    finally:
        platform.close()
    runner = CliRunner()
    arguments = ["risk", "drift", "--database", str(path), "--model-registry", str(demo_registry)]
    result = runner.invoke(app, arguments, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "model v0001: drift of the last 7 days (18 payments)" in result.output
    assert "score" in result.output
    unknown = runner.invoke(app, [*arguments, "--version", "v0042"])
    assert unknown.exit_code == 1
    assert "no model version 'v0042'" in unknown.output
