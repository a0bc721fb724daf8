"""A small, fast run of bench/ledger.py, so the benchmark cannot silently break."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ledger.py"


@pytest.mark.slow
def test_ledger_benchmark_runs_and_prints_rates() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--postgres", "auto"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    rates = {
        line.split("  ")[0].strip(): float(match.group(1).replace(",", ""))
        for line in completed.stdout.splitlines()
        if (match := re.search(r"([\d,]+) transfers/s", line))
    }
    expected_sections = [
        "plain sqlite3 loop, 1,000 per transaction",
        "plain sqlite3 loop, 1 per transaction",
        "hazina sqlite, batches of 8,189, 10,000 accounts",
        "hazina sqlite, batches of 8,189, 10 hot accounts",
        "hazina sqlite, single transfers, 8 clients",
        "hazina postgres, batches of 8,189, 10,000 accounts",
        "hazina postgres, single transfers, 8 clients",
    ]
    assert sorted(rates) == sorted(expected_sections), completed.stdout
    assert all(rate > 0 for rate in rates.values())
    assert "vs plain loop" in completed.stdout
    # After each batched section: what readers pay, a page of an account's transfers.
    pages = re.findall(
        r"account pages of 100, both sides +([\d,]+) per page +p50 +([\d.]+) ms", completed.stdout
    )
    assert len(pages) == 3, completed.stdout  # SQLite 10,000 and 10 hot accounts, PostgreSQL
    assert all(float(p50) > 0 for _, p50 in pages)
    assert pages[1][0] == "100"  # hot accounts: every page is full
    assert re.search(r"p99 +[\d.]+ ms", completed.stdout)
