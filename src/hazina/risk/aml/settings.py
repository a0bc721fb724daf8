"""The thresholds of the monitoring scenarios and of the graph features.

AML scenario thresholds are always calibrated on the institution's own data; the defaults here
suit a mobile-money operator in a currency with two minor-unit digits (KES), and
`hazina.risk.aml.amlsim.amlsim_settings` holds the calibration for the AMLSim samples.
Amounts are minor units; windows are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from hazina.kernel.limits import aml_cycle_length_max

_day_s = 86_400


@dataclass(frozen=True, slots=True)
class ScenarioSettings:
    """Thresholds of every scenario. `validate()` refuses settings that cannot work."""

    currency_digits: int = 2  # minor-unit digits, for the sentences in alerts

    # Structuring: one payer splits value into several transfers to one payee, each below
    # the reporting threshold, within a short window.
    reporting_threshold: int = 100_000_000  # 1,000,000.00: transfers strictly below it count
    structuring_window_s: int = _day_s
    structuring_transfers_min: int = 3
    structuring_total_min: int = 50_000_000  # the parts add up to at least half the threshold

    # Rapid pass-through: money comes in and (nearly) all of it goes out again within hours.
    pass_through_window_s: int = 6 * 3_600
    pass_through_amount_min: int = 5_000_000  # inflow in the window, 50,000.00
    pass_through_out_percent_min: int = 90  # outflow as a share of the inflow
    pass_through_out_percent_max: int = 110

    # Fan-in / fan-out: many distinct counterparties in one window, counting only transfers
    # of at most `fan_amount_max` (many small deposits, or many small payouts).
    fan_window_s: int = 7 * _day_s
    fan_in_counterparties_min: int = 10
    fan_out_counterparties_min: int = 10
    fan_amount_max: int = 100_000_000

    # Cycles: value that returns to where it started through 2..cycle_length_max accounts,
    # each hop within a tolerance of the first hop's amount, the whole cycle within a window.
    cycle_length_min: int = 2
    cycle_length_max: int = 6
    cycle_window_s: int = 30 * _day_s
    cycle_amount_tolerance_percent: int = 10
    cycle_amount_min: int = 1_000_000  # hops smaller than this (10,000.00) are not followed
    cycle_time_ordered: bool = True  # each hop at or after the one before

    # Dormant then active: an account quiet for a long time suddenly moves money.
    dormant_quiet_s: int = 180 * _day_s
    dormant_burst_window_s: int = 7 * _day_s
    dormant_burst_transfers_min: int = 5
    dormant_burst_amount_min: int = 10_000_000  # 100,000.00 moved in the burst

    # Graph features: the windows of the windowed counts.
    feature_windows_s: tuple[int, ...] = (_day_s, 7 * _day_s, 30 * _day_s)

    def validate(self) -> ScenarioSettings:
        """Return self, or raise `ValueError` naming the first setting that cannot work."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and value < 0:
                raise ValueError(f"{item.name} must not be negative, got {value}")
        positive = (
            "reporting_threshold",
            "structuring_window_s",
            "structuring_transfers_min",
            "pass_through_window_s",
            "fan_window_s",
            "fan_in_counterparties_min",
            "fan_out_counterparties_min",
            "cycle_window_s",
            "dormant_quiet_s",
            "dormant_burst_window_s",
            "dormant_burst_transfers_min",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if not 2 <= self.cycle_length_min <= self.cycle_length_max <= aml_cycle_length_max:
            raise ValueError(
                f"need 2 <= cycle_length_min <= cycle_length_max <= {aml_cycle_length_max}"
            )
        if self.pass_through_out_percent_min > self.pass_through_out_percent_max:
            raise ValueError("pass_through_out_percent_min exceeds pass_through_out_percent_max")
        if self.cycle_amount_tolerance_percent >= 100:
            raise ValueError("cycle_amount_tolerance_percent must be below 100")
        if not self.feature_windows_s or min(self.feature_windows_s) <= 0:
            raise ValueError("feature_windows_s needs at least one positive window")
        if self.currency_digits > 4:
            raise ValueError("currency_digits is at most 4 (ISO 4217)")
        return self


def format_amount(minor_units: int, digits: int) -> str:
    """Minor units as a decimal string with thousands separators: 123456, 2 -> '1,234.56'."""
    sign = "-" if minor_units < 0 else ""
    whole, fraction = divmod(abs(minor_units), 10**digits)
    text = f"{whole:,}"
    return f"{sign}{text}.{fraction:0{digits}d}" if digits else f"{sign}{text}"


def format_duration(seconds: int) -> str:
    """A window in words: 86400 -> '1 day', 21600 -> '6 hours'."""
    if seconds % _day_s == 0:
        days = seconds // _day_s
        return f"{days} day" if days == 1 else f"{days} days"
    if seconds % 3_600 == 0:
        hours = seconds // 3_600
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{seconds} seconds"
