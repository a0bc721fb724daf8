"""Properties of the online feature engine that hold whatever the window bucketing."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from hazina.risk.features.engine import FeatureEngine
from hazina.risk.features.events import FeatureConfig, PaymentEvent, Role

DAY_S = 86_400
START_S = 1_700_000_000

events = st.lists(
    st.tuples(
        st.integers(0, 40 * DAY_S),  # seconds after the start, sorted below
        st.sampled_from(["c1", "c2", "c3"]),
        st.integers(1, 1_000_000),
        st.sampled_from(["t1", "t2", "t3", "t4"]),
    ),
    min_size=1,
    max_size=60,
)


def stream(raw: list[tuple[int, str, int, str]]) -> list[PaymentEvent]:
    return [
        PaymentEvent(START_S + offset, customer, amount, counterparty=payee)
        for offset, customer, amount, payee in sorted(raw)
    ]


def same(left: list[float], right: list[float]) -> bool:
    return all(
        (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(left, right, strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(events)
def test_scoring_without_remembering_matches_observe_and_changes_nothing(
    raw: list[tuple[int, str, int, str]],
) -> None:
    engine = FeatureEngine(FeatureConfig(roles=(Role.counterparty,)))
    index = {name: i for i, name in enumerate(engine.names)}
    seen_pairs: set[tuple[str, str]] = set()
    history: dict[str, int] = {}
    for event in stream(raw):
        probe = engine.features_for(event)
        assert same(engine.features_for(event), probe)  # scoring twice changes nothing
        observed = engine.observe(event)
        assert same(observed, probe)
        counts = [observed[index[f"customer_count_{w}"]] for w in ("1h", "1d", "7d", "30d")]
        assert counts == sorted(counts)  # longer windows hold at least as much
        assert counts[0] >= 1  # the payment itself is in its windows
        pair = (str(event.customer), str(event.counterparty))
        assert observed[index["is_new_counterparty"]] == (0.0 if pair in seen_pairs else 1.0)
        seen_pairs.add(pair)
        assert observed[index["customer_history_count"]] == history.get(str(event.customer), 0)
        history[str(event.customer)] = history.get(str(event.customer), 0) + 1
        assert observed[index["amount_minor"]] == event.amount_minor


def test_a_fraud_label_counts_only_once_it_is_known_and_delayed() -> None:
    engine = FeatureEngine(FeatureConfig(roles=(Role.counterparty,), label_delay_s=7 * DAY_S))
    index = {name: i for i, name in enumerate(engine.names)}
    fraud = PaymentEvent(START_S, "victim", 50_000, counterparty="bad-terminal")
    engine.observe(fraud)
    engine.record_label(fraud, True, known_at_s=START_S + 2 * DAY_S)

    def risk_at(day: int) -> float:
        probe = PaymentEvent(START_S + day * DAY_S, "other", 100, counterparty="bad-terminal")
        return engine.features_for(probe)[index["counterparty_risk_30d"]]

    assert risk_at(1) == 0.0  # the label is not known yet
    assert risk_at(5) == 0.0  # known, but the payment is still inside the 7-day delay
    assert risk_at(9) > 0.0  # known and old enough: the terminal is risky
