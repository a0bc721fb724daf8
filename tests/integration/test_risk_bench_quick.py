"""A quick run of bench/risk.py on synthetic payments, so the benchmark cannot silently break."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "risk.py"


@pytest.mark.slow
def test_risk_benchmark_runs_and_prints_latencies() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    output = completed.stdout
    for section in (
        "features (features_for)",
        "score only (model.score)",
        "score + contributions (the reasons)",
        "update (fold the payment in)",
        "scoring added to a payment",
    ):
        assert re.search(re.escape(section) + r" +p50 +[\d.]+ ms +p99 +[\d.]+ ms", output), section
    assert re.search(r"batch scoring: [\d,]+ payments in [\d.]+ s: [\d,]+ payments/s", output)
    assert "target: features + score + reasons p99 <= 5 ms" in output
