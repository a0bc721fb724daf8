"""Benchmark the economy simulator: simulated transactions per second when writing Parquet, at
10,000 and 100,000 customers (target: >= 50,000/s), peak memory per size, and the rate at which
the driver pushes the economy through a real platform (SQLite).

    .venv/bin/python bench/sim.py             # 10k and 100k customers, 30 days; drive 2k x 4
    .venv/bin/python bench/sim.py --quick     # small sizes: checks the script, not the machine

Each size runs in a fresh process, so its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

target_rows_per_second = 50_000


def _write_one(customers: int, days: int, directory: Path) -> dict[str, float]:
    from hazina.sim.generator import SimulationConfig
    from hazina.sim.parquet import write_dataset

    started = time.perf_counter()
    summary = write_dataset(SimulationConfig(customers=customers, days=days), directory)
    elapsed = time.perf_counter() - started
    return {
        "customers": customers,
        "days": days,
        "rows": summary.rows,
        "seconds": elapsed,
        "bytes": summary.transactions_path.stat().st_size,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "checks_failed": sum(not check.ok for check in summary.checks),
    }


def _drive_one(customers: int, days: int, directory: Path) -> dict[str, float]:
    from hazina.bootstrap import build_platform
    from hazina.kernel.clock import FixedClock
    from hazina.ledger.audit import verify
    from hazina.sim.driver import drive
    from hazina.sim.generator import Simulation, SimulationConfig

    config = SimulationConfig(customers=customers, days=days)
    clock = FixedClock(config.start_ns)
    platform = build_platform(str(directory / "drive.sqlite3"), clock=clock)
    try:
        simulation = Simulation(config)
        started = time.perf_counter()
        summary = drive(
            platform.payments, simulation.days(), simulation.population, "KES", clock=clock
        )
        elapsed = time.perf_counter() - started
        ok = verify(platform.ledger.store).ok
    finally:
        platform.close()
    return {
        "customers": customers,
        "days": days,
        "parties": summary.parties,
        "events": summary.events,
        "refused": sum(summary.refused.values()),
        "seconds": elapsed,
        "ledger_ok": ok,
    }


def _child(mode: str, customers: int, days: int) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and read its JSON line."""
    with tempfile.TemporaryDirectory(prefix="hazina-bench-sim-") as directory:
        completed = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(customers), str(days), directory],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        mode, customers, days, directory = arguments.child
        work = _write_one if mode == "write" else _drive_one
        print(json.dumps(work(int(customers), int(days), Path(directory))))
        return
    if arguments.quick:
        sizes, days, drive_size = [2_000, 5_000], 7, (200, 2)
    else:
        sizes, days, drive_size = [10_000, 100_000], arguments.days, (2_000, 4)
    print(f"hazina.sim: write Parquet, {days} days, seed 7 (one process per size)")
    for customers in sizes:
        result = _child("write", customers, days)
        rate = result["rows"] / result["seconds"]
        verdict = "met" if rate >= target_rows_per_second else "NOT met"
        print(
            f"parquet {customers:>9,} customers {int(result['rows']):>12,} transactions"
            f" in {result['seconds']:7.2f} s {rate:>10,.0f} transactions/s"
            f"  {result['bytes'] / result['rows']:5.1f} bytes/row"
            f"  peak {result['peak_kib'] / 1024:7.1f} MiB"
            f"  calibration checks off: {int(result['checks_failed'])}"
            f"  (target >= {target_rows_per_second:,}/s: {verdict})"
        )
    customers, drive_days = drive_size
    result = _child("drive", customers, drive_days)
    print(
        f"drive   {customers:>9,} customers {int(result['events']):>12,} transactions"
        f" in {result['seconds']:7.2f} s {result['events'] / result['seconds']:>10,.0f}"
        f" transactions/s  ({int(result['parties']):,} parties registered first,"
        f" {int(result['refused']):,} refused, SQLite, ledger verify"
        f" {'OK' if result['ledger_ok'] else 'BROKEN'})"
    )


if __name__ == "__main__":
    main()
