"""The platform scores payments with its registry's champion, on SQLite and PostgreSQL:
decisions carry the model version and its top reasons; no champion leaves the rules alone; a
corrupt or unknown version is refused when promoted or loaded, never at payment time; a model
failing at payment time falls back to the rules and is logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hazina.bootstrap import ModelLoadError, build_platform
from hazina.cli.demo import ensure_demo_model
from hazina.cli.main import app
from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import risk_top_reasons_max
from hazina.risk.model import FraudModel
from hazina.risk.registry import ModelRegistry, ModelUnreadableError, UnknownModelVersionError
from tests.integration.platform_world import (
    START_NS,
    Parties,
    database,
    demo_registry,
    trained_registry,
)

__all__ = ["database", "demo_registry", "trained_registry"]  # fixtures used by name


def corrupt(folder: Path) -> None:
    """Cut a version's first booster in half, as a disk or a bad copy would."""
    booster = folder / "member_0.txt"
    text = booster.read_text()
    booster.write_text(text[: len(text) // 2])


def a_payment(platform_database: str, registry: Path | None) -> tuple[dict[str, object], str]:
    """Build the platform, send one P2P payment; the decision and the model in use."""
    platform = build_platform(
        platform_database, clock=FixedClock(START_NS), model_registry=registry
    )
    try:
        parties = Parties(platform)
        agent = parties.agent("AG1", 1_000_000_00)
        alice = parties.customer("Alice")
        bob = parties.customer("Bob")
        parties.fund(agent, alice, 50_000_00, 50_000_00)
        sent = parties.send(alice, bob, 1_500_00)
        (decision,) = platform.risk.decisions(transaction_id=sent)
        return decision, str(platform.risk.model_version)
    finally:
        platform.close()


def test_decisions_carry_the_champion_version_and_its_reasons(
    database: str, demo_registry: Path
) -> None:
    decision, in_use = a_payment(database, demo_registry)
    assert in_use == "v0001"
    assert decision["model_version"] == "v0001"
    assert decision["fallback"] is None
    assert isinstance(decision["score"], float)
    assert 0.0 <= decision["score"] <= 1.0
    reasons = decision["reasons"]
    assert isinstance(reasons, list)
    assert len(reasons) == risk_top_reasons_max
    names = set(ModelRegistry(demo_registry).get("v0001").feature_names)
    assert {reason["feature"] for reason in reasons} <= names


def test_without_a_champion_the_rules_decide_alone(database: str, tmp_path: Path) -> None:
    decision, in_use = a_payment(database, tmp_path / "empty-registry")
    assert in_use == "None"
    assert decision["model_version"] is None
    assert decision["fallback"] == "no model in use"


def test_the_engine_computes_the_champions_features(demo_registry: Path, tmp_path: Path) -> None:
    platform = build_platform(str(tmp_path / "db.sqlite3"), model_registry=demo_registry)
    try:
        model = ModelRegistry(demo_registry).load("v0001")
        assert platform.risk.engine.names == tuple(model.feature_names)
        assert platform.risk.engine.config == model.config
        assert platform.models is not None
        assert platform.models.root == demo_registry
    finally:
        platform.close()


def test_a_corrupt_champion_is_refused_when_the_platform_starts(
    demo_registry: Path, tmp_path: Path
) -> None:
    corrupt(demo_registry / "v0001")
    with pytest.raises(ModelLoadError) as refused:
        build_platform(str(tmp_path / "db.sqlite3"), model_registry=demo_registry)
    assert "v0001" in str(refused.value)
    assert "member_0.txt changed since it was registered" in str(refused.value)


def test_a_corrupt_version_without_fingerprints_is_tried_apart(demo_registry: Path) -> None:
    """Versions registered before fingerprints were kept are loaded once in a child process,
    because LightGBM aborts the process that reads a damaged booster."""
    entry_path = demo_registry / "v0001" / "entry.json"
    entry = json.loads(entry_path.read_text())
    del entry["files"]
    entry_path.write_text(json.dumps(entry))
    registry = ModelRegistry(demo_registry)
    assert registry.load("v0001").feature_names  # intact: loads (after the check apart)
    corrupt(demo_registry / "v0001")
    with pytest.raises(ModelUnreadableError) as unreadable:
        registry.scorer()
    assert "model v0001 cannot be loaded" in str(unreadable.value)


def test_promote_refuses_an_unknown_or_corrupt_version(demo_registry: Path) -> None:
    registry = ModelRegistry(demo_registry)
    model = registry.load("v0001")
    second = registry.register(
        model,
        metrics={},
        data=registry.get("v0001").data,
        drift=registry.drift_profile("v0001"),
        created_at=datetime.now(UTC),
    )
    assert (second.version, second.role) == ("v0002", "challenger")
    with pytest.raises(UnknownModelVersionError):
        registry.promote("v0099")
    corrupt(demo_registry / "v0002")
    with pytest.raises(ModelUnreadableError) as unreadable:
        registry.promote("v0002")
    assert "model v0002" in str(unreadable.value)
    champion = registry.champion()
    assert champion is not None
    assert champion.version == "v0001"
    result = CliRunner().invoke(app, ["risk", "promote", "v0002", "--registry", str(demo_registry)])
    assert result.exit_code == 1
    assert "cannot be loaded" in result.output


def test_a_model_failing_at_payment_time_falls_back_to_rules_and_is_logged(
    database: str,
    demo_registry: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: FraudModel, values: Sequence[float]) -> object:
        raise MemoryError("booster evicted")

    monkeypatch.setattr(FraudModel, "score_with_contributions", broken)
    with caplog.at_level(logging.ERROR, logger="hazina.risk"):
        decision, in_use = a_payment(database, demo_registry)
    assert in_use == "v0001"
    assert decision["action"] == "approve"  # the payment went through on the rules
    assert decision["score"] is None
    assert str(decision["fallback"]).startswith("model v0001 failed: MemoryError")
    assert "risk model failed at payment time" in caplog.text


def test_the_demo_model_is_trained_once(trained_registry: Path) -> None:
    assert ensure_demo_model(trained_registry) is None  # a champion is there already
    champion = ModelRegistry(trained_registry).champion()
    assert champion is not None
    assert float(champion.metrics["roc_auc"]) >= 0.9
    assert champion.data.frauds > 0
    assert (trained_registry / "demo-dataset" / "transactions.parquet").is_file()
    assert champion.data.path.endswith("events.parquet")
    # Trained on what a payment request carries: payee and agent, never the simulator's phone.
    assert not [name for name in champion.feature_names if name.startswith("device")]
    assert "agent_risk_7d" in champion.feature_names


def test_a_champion_lacking_a_feature_a_saved_rule_uses_is_refused_at_start(
    database: str, demo_registry: Path
) -> None:
    """The default engine knows the payer's balance; the demo model was trained without it."""
    rule = {
        "name": "drain",
        "when": {"feature": "balance_drain_ratio", "op": ">=", "value": 0.9},
        "action": "hold",
    }
    without_model = build_platform(database, clock=FixedClock(START_NS))
    try:
        without_model.risk.save_rules([rule], "analyst")
    finally:
        without_model.close()
    with pytest.raises(ModelLoadError) as refused:
        build_platform(database, clock=FixedClock(START_NS), model_registry=demo_registry)
    assert "model v0001 does not fit this platform" in str(refused.value)
    assert "balance_drain_ratio" in str(refused.value)


def test_serve_refuses_to_start_on_a_damaged_champion(demo_registry: Path, tmp_path: Path) -> None:
    corrupt(demo_registry / "v0001")
    arguments = ["serve", "--database", str(tmp_path / "db.sqlite3"), "--no-demo"]
    arguments += ["--model-registry", str(demo_registry)]
    result = CliRunner().invoke(app, arguments, env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "the champion model cannot be used" in result.output
    assert "--no-model" in result.output
