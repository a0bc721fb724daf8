"""A small, fast run of bench/console.py, so the page-time benchmark cannot silently break."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "console.py"
PAGES = (
    "dashboard",
    "customer search",
    "customer 360",
    "transactions",
    "transactions filtered",
    "transaction detail",
    "cases",
    "approvals",
    "audit log",
)


@pytest.mark.slow
def test_console_benchmark_times_every_page() -> None:
    completed = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    timed = {
        line[:24].strip(): line[24:].split()
        for line in completed.stdout.splitlines()
        if line.endswith("(< 300 ms)")
    }
    assert set(PAGES) <= set(timed), completed.stdout
    for name in PAGES:
        p50, p95, largest = (float(figure) for figure in timed[name][:3])
        assert 0 < p50 <= p95 <= largest, (name, timed[name])
