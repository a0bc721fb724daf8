"""The calibration: constants from PaySim, the sampling rule, and the generated economy's mix
and amount quantiles against the documented targets and tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from hazina.kernel.datasets import DatasetMissingError, dataset_path
from hazina.sim import calibration
from hazina.sim.events import Flow, PaysimType
from tests.unit.sim.conftest import Economy


def test_the_constants_are_what_the_paysim_file_says() -> None:
    try:
        path = dataset_path(*calibration.PAYSIM_FILE.split("/"))
    except DatasetMissingError as missing:
        pytest.skip(str(missing))
    targets = calibration.targets_from_paysim(path)
    assert targets.type_counts == calibration.PAYSIM_TYPE_COUNTS
    assert sum(targets.type_counts.values()) == calibration.PAYSIM_ROWS
    assert targets.amount_quantiles == calibration.PAYSIM_AMOUNT_QUANTILES


def test_the_target_mix_is_paysims() -> None:
    mix = calibration.target_mix()
    assert mix.sum() == pytest.approx(1.0)
    assert mix[PaysimType.PAYMENT] == pytest.approx(10_440 / 19_999)
    assert mix[PaysimType.DEBIT] == pytest.approx(441 / 19_999)


def test_amounts_are_whole_minor_units_rounded_half_to_even() -> None:
    # The median of PaySim's payments is 6,285.19 units: 6,285 cents (the restriction to
    # amounts of at least KES 1 moves the median a little up, so compare with the target).
    median = calibration.amounts_at(PaysimType.PAYMENT, np.array([0.5]))
    assert median.dtype == np.int64
    assert median[0] == round(calibration.target_quantile(PaysimType.PAYMENT, 0.5))
    drawn = calibration.sample_amounts(np.random.default_rng(1), PaysimType.TRANSFER, 10_000)
    assert drawn.dtype == np.int64
    assert drawn.min() >= 1


def test_amounts_respect_the_product_minimums() -> None:
    # A cash-out is at least KES 50: PaySim's smallest 1.8% of cash-outs are cut off.
    assert calibration.excluded_share(PaysimType.CASH_OUT) == pytest.approx(0.0178, abs=0.001)
    lowest = calibration.amounts_at(PaysimType.CASH_OUT, np.array([0.0]))
    assert lowest[0] == 50_00
    assert calibration.target_quantile(PaysimType.TRANSFER, 0.5) == pytest.approx(
        calibration.paysim_quantile(PaysimType.TRANSFER, 0.5)
    )  # nothing cut: every PaySim transfer is above KES 1


def test_probabilities_of_inverts_amounts_at() -> None:
    points = np.linspace(0.01, 0.99, 99)
    for paysim_type in PaysimType:
        amounts = calibration.amounts_at(paysim_type, points)
        assert np.allclose(calibration.probabilities_of(paysim_type, amounts), points, atol=2e-3)


def test_bin_weights_shift_the_sample_toward_heavier_bins() -> None:
    rng = np.random.default_rng(3)
    weights = np.ones(20)
    weights[-1] = 3.0  # the top 5% proposed three times as often
    drawn = calibration.sample_amounts(rng, PaysimType.TRANSFER, 50_000, weights)
    top = calibration.target_quantile(PaysimType.TRANSFER, 0.95)
    assert (drawn > top).mean() == pytest.approx(3 / 22, abs=0.01)


def test_the_generated_economy_is_within_tolerance_of_paysim(economy: Economy) -> None:
    """THE calibration test: type mix within 10% of each share (at least 0.3 points) and the
    10/25/50/75/90th amount percentiles of each type within 15% of the targets."""
    events = economy.events
    activity = events.flow == Flow.activity
    assert activity.sum() > 50_000
    checks = calibration.measure(events.paysim_type[activity], events.amount[activity])
    assert len(checks) == 5 + 5 * 5
    failed = [check for check in checks if not check.ok]
    assert failed == []
    # The documented tolerances, as the docs state them.
    assert calibration.SHARE_TOLERANCE_RELATIVE == 0.10
    assert calibration.SHARE_TOLERANCE_ABSOLUTE_MIN == 0.003
    assert calibration.QUANTILE_TOLERANCE_RELATIVE == 0.15


def test_the_check_fails_a_distorted_economy(economy: Economy) -> None:
    events = economy.events
    activity = events.flow == Flow.activity
    types, amounts = events.paysim_type[activity], events.amount[activity]
    inflated = calibration.measure(types, (amounts * 13) // 10)
    assert any(not c.ok and "amount" in c.name for c in inflated)
    no_debits = types != PaysimType.DEBIT
    skewed = calibration.measure(types[no_debits], amounts[no_debits])
    assert next(c.name for c in skewed if not c.ok) == "share DEBIT"
