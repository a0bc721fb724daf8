"""A small, fast run of bench/sim.py, so the simulator benchmark cannot silently break."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sim.py"


@pytest.mark.slow
def test_simulator_benchmark_runs_and_prints_sane_numbers() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    output = completed.stdout
    writes = re.findall(
        r"^parquet +([\d,]+) customers +([\d,]+) transactions in +([\d.]+) s +([\d,]+)"
        r" transactions/s +([\d.]+) bytes/row +peak +([\d.]+) MiB +calibration checks off: (\d+)"
        r" +\(target >= 50,000/s: (met|NOT met)\)$",
        output,
        re.MULTILINE,
    )
    assert [w[0] for w in writes] == ["2,000", "5,000"], output
    previous_rows = 0
    for _, rows, seconds, rate, bytes_per_row, peak, checks_off, _ in writes:
        count = int(rows.replace(",", ""))
        assert count > previous_rows  # more customers, more transactions
        previous_rows = count
        assert float(seconds) > 0
        assert int(rate.replace(",", "")) > 0
        assert 5 < float(bytes_per_row) < 100  # compressed columns, not a text dump
        assert float(peak) > 0
        assert checks_off == "0"
    drive = re.search(
        r"^drive +200 customers +([\d,]+) transactions in +[\d.]+ s +([\d,]+) transactions/s"
        r" +\(([\d,]+) parties registered first, ([\d,]+) refused, SQLite, ledger verify OK\)$",
        output,
        re.MULTILINE,
    )
    assert drive is not None, output
    assert int(drive.group(1).replace(",", "")) > 200  # an opening deposit each, and more
    assert int(drive.group(3).replace(",", "")) > 200
    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
