"""What the simulator is calibrated to: PaySim's type mix and amount quantiles per type.

Source: the first 19,999 rows of PaySim (Lopez-Rojas, Elmir and Axelsson, "PaySim: a financial
mobile money simulator for fraud detection", EMSS 2016; Kaggle dataset
`PS_20174392719_1491204439457_log.csv`, CC BY-SA 4.0), kept at
`../shared/datasets/paysim_sample/`. Only the `type` and `amount` columns are used: the balance
columns of that file are known to leak the fraud label and 980 of its rows were rounded by a
spreadsheet. `targets_from_paysim` recomputes every constant below from the file (a test checks
they agree).

Units: PaySim does not name its currency. The simulator reads one PaySim amount unit as one
minor unit of the simulated currency (KES cents): PaySim's 9,839.64 becomes 9,840 cents, KES
98.40. At that scale the medians are KES 63 for a payment, KES 1,374 for a cash-in, KES 1,391
for a cash-out and KES 3,996 for a transfer: the sizes of everyday mobile-money use in Kenya,
and inside the platform's KYC limits.

Sampling: an amount is drawn by inverse transform from the piecewise log-linear quantile
function through the points below, restricted to what Hazina's products accept (a cash-out is
at least KES 50, which removes PaySim's smallest 1.6% of cash-outs; a cash-in at least KES 10,
0.5% of them; payments and transfers at least KES 1, under 1%), then rounded half to even to
whole minor units, and at least 1. The targets are those restricted distributions, so the
calibration reproduces them by construction; what the test measures is how much the
simulator's behaviour (who can afford what, the drop-ratio boost, injected episodes) bends
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hazina.kernel.invariant import invariant
from hazina.sim.behaviour import product_minimums
from hazina.sim.events import Kind, PaysimType

PAYSIM_ROWS = 19_999
PAYSIM_FILE = "paysim_sample/PS_20174392719_1491204439457_log_head19999.csv"

# Rows of each type in the sample: the target mix is these over PAYSIM_ROWS.
PAYSIM_TYPE_COUNTS: dict[PaysimType, int] = {
    PaysimType.CASH_IN: 3_497,
    PaysimType.CASH_OUT: 3_648,
    PaysimType.DEBIT: 441,
    PaysimType.PAYMENT: 10_440,
    PaysimType.TRANSFER: 1_973,
}

# Probabilities of the quantile points (numpy's default linear interpolation on the sample).
QUANTILE_PROBABILITIES: tuple[float, ...] = (
    0.0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 1.0,
)  # fmt: skip

# Amount quantiles per type, in PaySim units (2 decimals, as computed from the sample).
PAYSIM_AMOUNT_QUANTILES: dict[PaysimType, tuple[float, ...]] = {
    PaysimType.CASH_IN: (
        57.98, 271.68, 1106.78, 3388.34, 7595.95, 14729.41, 25515.31, 36694.36, 49124.79,
        61494.95, 74945.36, 88534.22, 103763.34, 120588.14, 137360.58, 154511.53, 171190.1,
        190167.95, 213354.6, 235063.21, 264928.95, 297166.86, 343343.2, 416830.88, 502775.34,
        608748.71, 671587.44, 853495.98, 1030100.15,
    ),
    PaysimType.CASH_OUT: (
        71.29, 207.53, 1493.09, 3356.63, 7224.57, 12920.6, 26527.28, 39379.92, 53649.21,
        66093.73, 80250.66, 94026.07, 108647.63, 123296.65, 139107.85, 158172.16, 177686.64,
        200200.68, 224433.92, 251294.4, 279757.9, 311245.52, 363637.56, 441910.62, 503335.81,
        578660.22, 672175.17, 1262872.78, 10000000.0,
    ),
    PaysimType.DEBIT: (
        30.92, 47.65, 151.74, 181.82, 286.87, 394.24, 633.34, 924.07, 1141.74, 1399.4,
        1726.62, 2006.44, 2344.79, 2655.04, 2983.5, 3317.29, 3622.92, 3925.8, 4347.78,
        4747.29, 5423.28, 6027.22, 7374.81, 8727.74, 9837.13, 12507.89, 12821.9, 30025.57,
        42806.74,
    ),
    PaysimType.PAYMENT: (
        2.39, 9.5, 55.06, 115.63, 290.53, 591.78, 1156.06, 1794.42, 2376.72, 2901.28,
        3507.77, 4146.48, 4826.85, 5554.27, 6285.19, 7124.18, 7938.14, 8883.96, 9972.46,
        11292.29, 12781.04, 14848.38, 17805.27, 23123.93, 28900.43, 36726.59, 41831.76,
        52048.32, 68824.38,
    ),
    PaysimType.TRANSFER: (
        164.0, 220.85, 2928.09, 6877.44, 12840.04, 23842.52, 53391.75, 85806.55, 121112.28,
        150938.41, 187429.03, 240875.66, 286544.12, 340892.47, 399635.37, 459216.46,
        548341.95, 608876.68, 715541.81, 844849.66, 999467.36, 1198165.2, 1472029.98,
        1900191.51, 2279832.2, 2787073.96, 3000838.37, 5466097.37, 10000000.0,
    ),
}  # fmt: skip

# One PaySim unit is this many minor units of the simulated currency (KES cents).
MINOR_UNITS_PER_PAYSIM_UNIT = 1

# What the calibration test checks, and how closely (see `measure`).
CHECKED_PROBABILITIES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
SHARE_TOLERANCE_RELATIVE = 0.10  # a type's share within 10% of its target share...
SHARE_TOLERANCE_ABSOLUTE_MIN = 0.003  # ...or within 0.3 percentage points, whichever is wider
QUANTILE_TOLERANCE_RELATIVE = 0.15  # a checked quantile within 15% of its target


def target_mix() -> NDArray[np.float64]:
    """The share of each PaySim type, indexed by `PaysimType`."""
    counts = np.array([PAYSIM_TYPE_COUNTS[t] for t in PaysimType], dtype=np.float64)
    invariant(int(counts.sum()) == PAYSIM_ROWS, "the type counts cover the whole sample")
    mix: NDArray[np.float64] = counts / counts.sum()
    return mix


def _log_quantiles(paysim_type: PaysimType) -> NDArray[np.float64]:
    points = np.array(PAYSIM_AMOUNT_QUANTILES[paysim_type], dtype=np.float64)
    invariant(len(points) == len(QUANTILE_PROBABILITIES), "one quantile per probability")
    invariant(bool(np.all(np.diff(points) >= 0)), "quantiles never decrease")
    scaled: NDArray[np.float64] = np.log(points * MINOR_UNITS_PER_PAYSIM_UNIT)
    return scaled


_probabilities = np.array(QUANTILE_PROBABILITIES, dtype=np.float64)
_log_tables = {t: _log_quantiles(t) for t in PaysimType}

# The Hazina product that carries most of each type, whose minimum amount bounds it below.
product_of_type: dict[PaysimType, Kind] = {
    PaysimType.CASH_IN: Kind.cash_in,
    PaysimType.CASH_OUT: Kind.cash_out,
    PaysimType.DEBIT: Kind.bill,
    PaysimType.PAYMENT: Kind.merchant,
    PaysimType.TRANSFER: Kind.p2p,
}


def excluded_share(paysim_type: PaysimType) -> float:
    """The share of PaySim's amounts of a type below the product minimum."""
    floor = product_minimums[product_of_type[paysim_type]] - 0.5  # what rounds up to it
    table = _log_tables[paysim_type]
    return float(np.interp(np.log(floor), table, _probabilities, left=0.0, right=1.0))


_excluded = {t: excluded_share(t) for t in PaysimType}


def _restricted(paysim_type: PaysimType, uniforms: NDArray[np.float64]) -> NDArray[np.float64]:
    """Probabilities of the restricted distribution mapped onto PaySim's."""
    excluded = _excluded[paysim_type]
    mapped: NDArray[np.float64] = excluded + uniforms * (1.0 - excluded)
    return mapped


def amounts_at(paysim_type: PaysimType, uniforms: NDArray[np.float64]) -> NDArray[np.int64]:
    """The amounts (minor units) at the given probabilities: the inverse of the target
    distribution, rounded half to even to whole minor units, at least 1."""
    probabilities = _restricted(paysim_type, uniforms)
    values = np.exp(np.interp(probabilities, _probabilities, _log_tables[paysim_type]))
    amounts = np.maximum(np.rint(values), 1).astype(np.int64)
    invariant(len(amounts) == len(uniforms), "one amount per probability")
    return amounts


def sample_amounts(
    rng: np.random.Generator,
    paysim_type: PaysimType,
    count: int,
    bin_weights: NDArray[np.float64] | None = None,
) -> NDArray[np.int64]:
    """`count` amounts drawn from the target distribution of one PaySim type. With
    `bin_weights` (one per equal-probability bin of the target), bins are drawn in proportion
    to their weight: a generator that loses more of some amounts than others (big transfers
    are more often unaffordable) proposes those more, so what it keeps stays on target."""
    invariant(count >= 0, "a sample size is not negative")
    uniforms = rng.random(count)
    if bin_weights is not None:
        bins = len(bin_weights)
        invariant(bins > 0 and bool(np.all(bin_weights > 0)), "bin weights are positive")
        cumulative = np.cumsum(bin_weights) / bin_weights.sum()
        chosen = np.minimum(np.searchsorted(cumulative, uniforms, side="right"), bins - 1)
        uniforms = (chosen + rng.random(count)) / bins
    return amounts_at(paysim_type, uniforms)


def probabilities_of(paysim_type: PaysimType, amounts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Where amounts fall in the target distribution (its CDF, 0 to 1): the inverse of
    `amounts_at`, up to rounding."""
    table = _log_tables[paysim_type]
    paysim = np.interp(np.log(np.maximum(amounts, 1).astype(np.float64)), table, _probabilities)
    excluded = _excluded[paysim_type]
    restricted: NDArray[np.float64] = np.clip((paysim - excluded) / (1.0 - excluded), 0.0, 1.0)
    return restricted


def mean_amount(paysim_type: PaysimType) -> float:
    """The mean of the target distribution, in minor units (midpoint rule on 100,000 points:
    exact enough for budgeting, and deterministic)."""
    points = (np.arange(100_000, dtype=np.float64) + 0.5) / 100_000
    return float(amounts_at(paysim_type, points).mean())


def target_quantile(paysim_type: PaysimType, probability: float) -> float:
    """A quantile of the target (restricted) distribution, in minor units."""
    mapped = _restricted(paysim_type, np.array([probability]))
    return float(np.exp(np.interp(mapped, _probabilities, _log_tables[paysim_type]))[0])


def paysim_quantile(paysim_type: PaysimType, probability: float) -> float:
    """A quantile of PaySim's own (unrestricted) distribution, in minor units."""
    return float(np.exp(np.interp(probability, _probabilities, _log_tables[paysim_type])))


@dataclass(frozen=True, slots=True)
class PaysimTargets:
    """The calibration constants as recomputed from the PaySim file."""

    type_counts: dict[PaysimType, int]
    amount_quantiles: dict[PaysimType, tuple[float, ...]]


def targets_from_paysim(path: Path) -> PaysimTargets:
    """Recompute the type counts and amount quantiles from the PaySim CSV (type and amount
    columns only)."""
    import pyarrow.csv as arrow_csv  # type: ignore[import-untyped]

    table = arrow_csv.read_csv(
        path, convert_options=arrow_csv.ConvertOptions(include_columns=["type", "amount"])
    )
    types = np.array(table.column("type").to_pylist())
    amounts = table.column("amount").to_numpy()
    counts: dict[PaysimType, int] = {}
    quantiles: dict[PaysimType, tuple[float, ...]] = {}
    for paysim_type in PaysimType:
        selected = amounts[types == paysim_type.name]
        counts[paysim_type] = len(selected)
        quantiles[paysim_type] = tuple(
            round(float(q), 2) for q in np.quantile(selected, _probabilities)
        )
    invariant(sum(counts.values()) == len(types), "every row has one of PaySim's five types")
    return PaysimTargets(counts, quantiles)


@dataclass(frozen=True, slots=True)
class Check:
    """One calibration figure: what was generated against its target, and whether it is
    within tolerance."""

    name: str
    target: float
    measured: float
    tolerance: float  # absolute, in the figure's units
    ok: bool


def measure(paysim_types: NDArray[np.int8], amounts: NDArray[np.int64]) -> tuple[Check, ...]:
    """Compare the type mix and checked amount quantiles of generated PaySim-typed events (the
    `activity` rows) with the targets."""
    invariant(len(paysim_types) == len(amounts), "one type per amount")
    invariant(len(amounts) > 0, "there is something to measure")
    invariant(bool(np.all(paysim_types >= 0)), "only PaySim-typed events are measured")
    checks: list[Check] = []
    mix = target_mix()
    counts = np.bincount(paysim_types.astype(np.int64), minlength=len(PaysimType))
    shares = counts / counts.sum()
    for paysim_type in PaysimType:
        target = float(mix[paysim_type])
        measured = float(shares[paysim_type])
        tolerance = max(SHARE_TOLERANCE_RELATIVE * target, SHARE_TOLERANCE_ABSOLUTE_MIN)
        checks.append(
            Check(
                f"share {paysim_type.name}",
                target,
                measured,
                tolerance,
                abs(measured - target) <= tolerance,
            )
        )
    for paysim_type in PaysimType:
        selected = amounts[paysim_types == paysim_type]
        for probability in CHECKED_PROBABILITIES:
            target = target_quantile(paysim_type, probability)
            measured = float(np.quantile(selected, probability)) if len(selected) else 0.0
            tolerance = QUANTILE_TOLERANCE_RELATIVE * target
            checks.append(
                Check(
                    f"{paysim_type.name} amount p{round(probability * 100)}",
                    target,
                    measured,
                    tolerance,
                    abs(measured - target) <= tolerance,
                )
            )
    return tuple(checks)
