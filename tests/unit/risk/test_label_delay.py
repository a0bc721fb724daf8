"""A label known after a payment never changes that payment's features; mobile-money parties."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from hazina.risk.features.engine import FeatureEngine, feature_names
from hazina.risk.features.events import FeatureConfig, PaymentEvent, Role

DAY_S = 86_400
START_S = 1_700_000_000
MOBILE = FeatureConfig(roles=(Role.counterparty, Role.agent, Role.device), balance=True)

stream = st.lists(
    st.tuples(
        st.integers(0, 40 * DAY_S),
        st.sampled_from(["c1", "c2", "c3"]),
        st.integers(1, 100_000),
        st.sampled_from(["p1", "p2"]),
        st.sampled_from(["a1", "a2", None]),
        st.sampled_from(["d1", "d2"]),
        st.booleans(),
        st.integers(0, 20 * DAY_S),
    ),
    min_size=1,
    max_size=30,
)


def same(left: list[float], right: list[float]) -> bool:
    return all(
        (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(left, right, strict=True)
    )


@settings(max_examples=80, deadline=None)
@given(stream)
def test_labels_known_after_a_payment_never_reach_its_features(
    raw: list[tuple[int, str, int, str, str | None, str, bool, int]],
) -> None:
    events = [
        (
            PaymentEvent(
                START_S + offset,
                customer,
                amount,
                counterparty=payee,
                agent=agent,
                device=device,
                balance_before_minor=amount * 2,
            ),
            fraud,
            START_S + offset + known_after_s,
        )
        for offset, customer, amount, payee, agent, device, fraud, known_after_s in sorted(
            raw, key=lambda item: item[0]
        )
    ]
    # Every label is handed to this engine up front, long before most are known.
    eager = FeatureEngine(MOBILE)
    for event, fraud, known_at_s in events:
        eager.record_label(event, fraud, known_at_s)
    for position, (event, _fraud, _known_at_s) in enumerate(events):
        seen = eager.observe(event)
        # The oracle: the same stream, but only the labels known by this payment exist at all.
        honest = FeatureEngine(MOBILE)
        for earlier, fraud, known_at_s in events:
            if known_at_s <= event.timestamp_s:
                honest.record_label(earlier, fraud, known_at_s)
        for earlier, _fraud, _known_at_s in events[:position]:
            honest.observe(earlier)
        assert same(honest.features_for(event), seen)


def test_mobile_money_parties_and_balance() -> None:
    engine = FeatureEngine(MOBILE)
    names = engine.names
    assert names == feature_names(MOBILE)
    assert len(set(names)) == len(names)
    for expected in (
        "counterparty_count_1h",
        "agent_risk_7d",
        "is_new_device",
        "device_customer_count",
        "balance_drain_ratio",
    ):
        assert expected in names
    index = {name: i for i, name in enumerate(names)}
    first = PaymentEvent(
        START_S, "c1", 4_000, counterparty="p1", agent="a1", device="d1", balance_before_minor=5_000
    )
    second = PaymentEvent(
        START_S + 60, "c2", 10_000, counterparty="p1", device="d1", balance_before_minor=10_000
    )
    assert engine.observe(first)[index["balance_drain_ratio"]] == 0.8
    values = engine.observe(second)
    assert values[index["balance_drain_ratio"]] == 1.0  # the whole balance
    assert values[index["device_customer_count"]] == 2  # a second customer on the same phone
    assert values[index["is_new_device"]] == 1.0  # new for this customer
    assert values[index["counterparty_count_1h"]] == 2  # the payee's second payment this hour
    assert values[index["is_new_counterparty"]] == 1.0
    assert math.isnan(values[index["agent_count_1h"]])  # no agent on this payment
    third = PaymentEvent(START_S + 120, "c1", 1_000, counterparty="p1", device="d1")
    values = engine.observe(third)
    assert values[index["is_new_counterparty"]] == 0.0
    assert values[index["customer_counterparty_count"]] == 1
    assert math.isnan(values[index["balance_drain_ratio"]])  # balance not given
    assert values[index["customer_since_previous_s"]] == 120


def test_feature_names_are_stable_and_follow_the_config() -> None:
    card = feature_names(FeatureConfig())
    assert card[:4] == ("amount_minor", "is_weekend", "is_night", "hour_of_day")
    assert all(not name.startswith(("agent_", "device_")) for name in card)
    assert "balance_drain_ratio" not in card
    assert feature_names(FeatureConfig()) == card
