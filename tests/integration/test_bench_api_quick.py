"""A small, fast run of bench/api.py, so the HTTP benchmark cannot silently break."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "api.py"


@pytest.mark.slow
def test_api_benchmark_runs_and_prints_sane_numbers() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    output = completed.stdout
    match = re.search(
        r"^sqlite +([\d,]+) requests in +[\d.]+ s +([\d,]+) requests/s +([\d,]+) payments/s"
        r" +p50 +([\d.]+) ms +p99 +([\d.]+) ms +p999 +([\d.]+) ms +errors: (.*?)  x",
        output,
        re.MULTILINE,
    )
    assert match is not None, output
    requests, requests_per_second, payments_per_second = (
        int(match.group(i).replace(",", "")) for i in (1, 2, 3)
    )
    p50, p99, p999 = (float(match.group(i)) for i in (4, 5, 6))
    errors = match.group(7)
    assert requests == 300, output
    assert 0 < payments_per_second <= requests_per_second, output
    assert 0 < p50 <= p99 <= p999 < 30_000, output
    # A 5xx is a server bug, and a dropped connection too. The customers are funded
    # generously, so (nearly) every payment of the mix succeeds.
    assert not re.search(r"\b5\d\dx", errors), output
    assert "Error" not in errors, output
    assert payments_per_second >= 0.9 * requests_per_second, output
    assert "of 2,000/s target" in output
    assert re.search(r"payments by kind: cash_out \d+, merchant \d+, p2p \d+;", output), output
    assert "postgres" not in output  # quick mode is SQLite only
    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
