"""`hazina assist` commands and the benchmark's quick run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hazina.bootstrap import build_platform
from hazina.cli.main import app
from hazina.payments.domain.chart import PartyKind

ROOT = Path(__file__).resolve().parents[2]


def test_train_then_ask(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "assist"
    trained = runner.invoke(
        app,
        ["assist", "train", "--kind", "tfidf", "--sample", "8", "--output", str(folder)],
    )
    assert trained.exit_code == 0, trained.output
    assert (folder / "intent-model.pickle").exists()
    asked = runner.invoke(
        app, ["assist", "ask", "I lost my phone, please block my wallet", "--model", str(folder)]
    )
    assert asked.exit_code == 0, asked.output
    assert asked.output.splitlines()[0].endswith("hazina_block_wallet")
    missing = runner.invoke(app, ["assist", "ask", "hi", "--model", str(tmp_path / "none")])
    assert missing.exit_code == 2
    assert "hazina assist train" in missing.output


def test_set_pin_prompts_twice_and_never_echoes(tmp_path: Path) -> None:
    database = str(tmp_path / "hazina.sqlite3")
    platform = build_platform(database)
    party = platform.payments.register_party(
        PartyKind.customer, "Alice", ["KES"], phone="+254712000001"
    )
    platform.close()
    result = CliRunner().invoke(
        app,
        ["assist", "set-pin", "--phone", "+254712000001", "--database", database],
        input="4821\n4821\n",
    )
    assert result.exit_code == 0, result.output
    assert "PIN set for Alice" in result.output
    assert "4821" not in result.output
    platform = build_platform(database)
    row = platform.ledger.store.reader().fetch_one(
        "SELECT pin_hash FROM assist_pins WHERE party_id = ?", (party.id,)
    )
    platform.close()
    assert row is not None
    assert str(row[0]).startswith("$argon2id$")
    refused = CliRunner().invoke(
        app,
        ["assist", "set-pin", "--phone", "+254712000001", "--database", database],
        input="1111\n1111\n",
    )
    assert refused.exit_code == 2
    assert "repeat one digit" in refused.output


def test_the_benchmark_quick_run(tmp_path: Path) -> None:
    output = tmp_path / "assist.json"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "assist.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "| tfidf |" in completed.stdout
    [result] = json.loads(output.read_text())
    assert result["kind"] == "tfidf"
    assert result["test_examples"] == 77 * 4
    assert 0.55 <= result["test_accuracy"] <= 1.0
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p95"]
    assert result["latency_ms"]["service_p95"] > 0
