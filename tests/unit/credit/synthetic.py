"""A small synthetic credit table with a known structure, for fast tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]


def synthetic_applicants(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Default rises with utilisation and late payments, falls with income; `region` matters a
    little, `noise` not at all; `bureau_months` has -9 ("no record") for some applicants."""
    generator = np.random.default_rng(seed)
    utilisation = generator.uniform(0.0, 1.2, rows)
    late_payments = generator.poisson(0.6, rows).astype(float)
    income = generator.lognormal(8.0, 0.5, rows)
    region = generator.choice(["north", "south", "east"], rows)
    bureau_months = generator.integers(1, 200, rows).astype(float)
    bureau_months[generator.random(rows) < 0.1] = -9.0
    noise = generator.normal(size=rows)
    log_odds = (
        -2.0
        + 2.0 * utilisation
        + 0.8 * late_payments
        - 0.6 * (np.log(income) - 8.0) / 0.5
        + np.where(region == "east", 0.5, 0.0)
        - 0.004 * np.where(bureau_months < 0, 0.0, bureau_months)
    )
    defaulted = generator.random(rows) < 1.0 / (1.0 + np.exp(-log_odds))
    return pd.DataFrame(
        {
            "applicant_id": np.arange(rows),
            "utilisation": utilisation,
            "late_payments": late_payments,
            "income": income,
            "region": region,
            "bureau_months": bureau_months,
            "noise": noise,
            "status": np.where(defaulted, "Bad", "Good"),
        }
    )


def write_applicants(path: Path, rows: int = 2_000, seed: int = 0) -> Path:
    synthetic_applicants(rows, seed).to_csv(path, index=False)
    return path
