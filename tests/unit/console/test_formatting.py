"""The console's display helpers: money from minor units, durations, chart bucket sizes, and
where a log-in may send the operator next."""

from __future__ import annotations

import pytest

from hazina.console.dashboard import bucket_length_s
from hazina.console.rendering import duration, moment, money
from hazina.console.routes_home import _safe_next
from hazina.kernel.limits import console_chart_buckets_max


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (0, "KES", "KES 0.00"),
        (5, "KES", "KES 0.05"),
        (1_234_550, "KES", "KES 12,345.50"),
        (-1_234_550, "KES", "KES -12,345.50"),
        (1_234_567, "JPY", "JPY 1,234,567"),
        (1_234_567, "BHD", "BHD 1,234.567"),
    ],
)
def test_money_uses_the_currency_decimals_and_groups_thousands(
    minor: int, currency: str, shown: str
) -> None:
    assert money(minor, currency) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 min"),
        (59, "0 min"),
        (5_400, "1 h 30 min"),
        (-5_400, "1 h 30 min"),
        (90_000, "1 d 1 h"),
    ],
)
def test_durations_read_in_days_hours_and_minutes(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


def test_moments_are_utc_to_the_second() -> None:
    assert moment(None) == "-"
    assert moment(1_763_000_000 * 10**9 + 999_999_999) == "2025-11-13 02:13:20 UTC"


@pytest.mark.parametrize(
    ("span_s", "bucket_s"),
    [(0, 1), (30, 1), (47, 1), (48, 10), (3_000, 600), (86_400, 3_600), (30 * 86_400, 86_400)],
)
def test_charts_take_the_shortest_bucket_within_the_cap(span_s: int, bucket_s: int) -> None:
    assert bucket_length_s(span_s) == bucket_s
    assert span_s // bucket_s < console_chart_buckets_max


def test_a_span_beyond_every_bucket_gets_the_longest() -> None:
    assert bucket_length_s(10 * 365 * 86_400) == 7 * 86_400


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        (None, "/console/"),
        ("", "/console/"),
        ("/console/cases?status=open", "/console/cases?status=open"),
        ("https://elsewhere.example/console", "/console/"),
        ("//elsewhere.example/console", "/console/"),
        ("/v1/parties", "/console/"),
    ],
)
def test_a_login_only_ever_goes_on_inside_the_console(asked: str | None, sent: str) -> None:
    assert _safe_next(asked) == sent
