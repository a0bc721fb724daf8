"""A small, fast run of bench/cbdc.py, so the CBDC benchmark cannot silently break."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cbdc.py"


@pytest.mark.slow
def test_cbdc_benchmark_runs_and_prints_rates() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    rates = {
        line[:62].strip(): float(match.group(1).replace(",", ""))
        for line in completed.stdout.splitlines()
        if (match := re.search(r"([\d,]+) (?:transfers|notes|tokens)/s", line))
    }
    assert sorted(rates) == sorted(
        [
            "cbdc wallet payments via the service, 2 clients",
            "cbdc ledger transfers, batches of 8,189, 200 wallets",
            "offline notes verified (1 hop: 2 Ed25519 checks), 1 core",
            "offline tokens issued (Ed25519 signatures), 1 core",
        ]
    ), completed.stdout
    assert all(rate > 0 for rate in rates.values())
    assert "OpenCBDC 2PC: 1,700,000 tx/s" in completed.stdout
