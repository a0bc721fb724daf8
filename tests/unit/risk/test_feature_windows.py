"""The engine's windows against a naive recount of the same events (the independent oracle).

The reference keeps every event and every label in plain lists and, for each new event,
recounts from scratch with the engine's documented bucket rules: 5-minute buckets for 1h, hour
buckets for 1d, day buckets for 7d/30d, and for the delayed risk of a counterparty the days
`today - delay - n .. today - delay` counting only labels already known.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hazina.risk.features.engine import FeatureEngine
from hazina.risk.features.events import FeatureConfig, PaymentEvent, Role
from hazina.risk.features.windows import BucketRing

DAY_S = 86_400
HOUR_S = 3_600
START_S = 1_700_000_000 - 1_700_000_000 % DAY_S  # a midnight, so day buckets are easy to read
DELAY_DAYS = 3


@dataclass(frozen=True)
class Label:
    payment: PaymentEvent
    is_fraud: bool
    known_at_s: int


def reference_features(
    history: list[PaymentEvent], labels: list[Label], event: PaymentEvent
) -> dict[str, float]:
    """Recount the windowed features of `event` from everything before it."""
    now = event.timestamp_s

    def within(other: PaymentEvent, width_s: int, buckets: int) -> bool:
        return now // width_s - buckets < other.timestamp_s // width_s <= now // width_s

    mine = [e for e in history if e.customer == event.customer]
    at_party = [e for e in history if e.counterparty == event.counterparty]
    values: dict[str, float] = {}
    for name, width_s, buckets in (
        ("1h", 300, 12),
        ("1d", HOUR_S, 24),
        ("7d", DAY_S, 7),
        ("30d", DAY_S, 30),
    ):
        window = [e for e in mine if within(e, width_s, buckets)]
        values[f"customer_count_{name}"] = len(window) + 1
        values[f"customer_amount_mean_{name}"] = (
            sum(e.amount_minor for e in window) + event.amount_minor
        ) / (len(window) + 1)
        values[f"counterparty_count_{name}"] = (
            len([e for e in at_party if within(e, width_s, buckets)]) + 1
        )
    previous_30d = [e for e in mine if within(e, DAY_S, 30)]
    total_30d = sum(e.amount_minor for e in previous_30d)
    values["customer_amount_ratio_30d"] = (
        event.amount_minor * len(previous_30d) / total_30d if total_30d > 0 else math.nan
    )
    values["customer_history_count"] = len(mine)
    values["customer_since_previous_s"] = now - mine[-1].timestamp_s if mine else math.nan
    values["is_new_counterparty"] = (
        0.0 if any(e.counterparty == event.counterparty for e in mine) else 1.0
    )
    values["customer_counterparty_count"] = len(
        [e for e in mine if e.counterparty == event.counterparty]
    )
    today = now // DAY_S
    known = [
        label
        for label in labels
        if label.known_at_s <= now and label.payment.counterparty == event.counterparty
    ]
    for name, days in (("1d", 1), ("7d", 7), ("30d", 30)):
        in_window = [
            label
            for label in known
            if today - DELAY_DAYS - days <= label.payment.timestamp_s // DAY_S <= today - DELAY_DAYS
        ]
        frauds = len([label for label in in_window if label.is_fraud])
        values[f"counterparty_risk_count_{name}"] = len(in_window)
        values[f"counterparty_risk_{name}"] = frauds / len(in_window) if in_window else 0.0
    fraud_days = [label.payment.timestamp_s // DAY_S for label in known if label.is_fraud]
    values["counterparty_known_fraud_age_days"] = (
        today - max(fraud_days) if fraud_days else math.nan
    )
    return values


raw_streams = st.lists(
    st.tuples(
        st.integers(0, 45 * DAY_S),  # seconds after the start
        st.sampled_from(["alice", "bob", "carol"]),
        st.integers(1, 500_000),
        st.sampled_from(["t1", "t2", "t3"]),
        st.booleans(),  # fraud
        st.integers(0, 6 * DAY_S),  # how long after the payment its label is known
    ),
    min_size=1,
    max_size=50,
)


def close(left: float, right: float) -> bool:
    if math.isnan(left) or math.isnan(right):
        return math.isnan(left) and math.isnan(right)
    return math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=150, deadline=None)
@given(raw_streams)
@example([(0, "alice", 100, "t1", True, 0), (4 * DAY_S, "bob", 100, "t1", False, 0)])
@example([(0, "alice", 100, "t1", True, 5 * DAY_S), (4 * DAY_S, "bob", 100, "t1", False, 0)])
def test_windows_match_a_naive_recount(
    raw: list[tuple[int, str, int, str, bool, int]],
) -> None:
    config = FeatureConfig(roles=(Role.counterparty,), label_delay_s=DELAY_DAYS * DAY_S)
    engine = FeatureEngine(config)
    index = {name: i for i, name in enumerate(engine.names)}
    history: list[PaymentEvent] = []
    labels: list[Label] = []
    for offset, customer, amount, terminal, is_fraud, known_after_s in sorted(raw):
        event = PaymentEvent(START_S + offset, customer, amount, counterparty=terminal)
        expected = reference_features(history, labels, event)
        observed = engine.observe(event)
        for name, value in expected.items():
            assert close(observed[index[name]], value), (name, observed[index[name]], value)
        label = Label(event, is_fraud, event.timestamp_s + known_after_s)
        engine.record_label(event, label.is_fraud, label.known_at_s)
        history.append(event)
        labels.append(label)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(1, 11)), min_size=1, max_size=3),
    st.integers(0, 2**32),
)
def test_bucket_ring_totals_equal_a_recount(
    size: int, raw_spans: list[tuple[int, int]], seed: int
) -> None:
    spans = tuple(
        (near % size, 1 + (length - 1) % (size - near % size)) for near, length in raw_spans
    )
    ring = BucketRing(size, spans)
    rng = random.Random(seed)
    stored: dict[int, list[int]] = {}
    bucket = rng.randint(0, 5)
    for _ in range(40):
        bucket += rng.choice([0, 0, 1, 1, 2, 3, size - 1, size, size + 2, rng.randint(0, 3 * size)])
        ring.advance(bucket)
        if rng.random() < 0.7:
            value, mark = rng.randint(0, 100), rng.randint(0, 1)
            ring.add_to_head(value, mark)
            totals = stored.setdefault(bucket, [0, 0, 0])
            totals[0] += 1
            totals[1] += value
            totals[2] += mark
        if rng.random() < 0.4:
            past = bucket - rng.randint(0, size + 2)
            value, mark = rng.randint(0, 5), rng.randint(0, 2)
            if ring.add_to_past(past, 1, value, mark):
                totals = stored.setdefault(past, [0, 0, 0])
                totals[0] += 1
                totals[1] += value
                totals[2] += mark
            else:
                assert not bucket - size < past <= bucket  # refused only outside the ring
        for position, (near, length) in enumerate(spans):
            covered = range(bucket - near - length + 1, bucket - near + 1)
            expected = [sum(stored.get(b, [0, 0, 0])[m] for b in covered) for m in range(3)]
            observed = [
                ring.window_counts[position],
                ring.window_sums[position],
                ring.window_marks[position],
            ]
            assert observed == expected, (spans, bucket, position)
