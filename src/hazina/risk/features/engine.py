"""The online feature engine: features of a payment from what came before it, in O(1) per event.

State is kept per customer and per counterparty, agent and device (the roles a deployment's
payments carry, see `FeatureConfig`), in rings of time buckets (`windows.BucketRing`):

- 5-minute buckets, 12 of them: the 1-hour windows;
- hour buckets, 24 of them: the 1-day windows;
- day buckets: the 7- and 30-day windows and, for the roles, the delayed risk windows.

A window "1d" is the current hour bucket and the 23 before it, "7d" today and the six days
before, and so on: whole buckets, so a window spans between its length less one bucket and its
length. Every window count and mean includes the payment being scored, as the handbook's do.

Nothing here reads a clock: time is the event's timestamp. Time never goes backwards: an
event older than the newest one seen is counted as happening at the newest time (its calendar
features still use its own time).

Labels arrive through `record_label(payment, is_fraud, known_at_s)`, fraud or genuine. A label
takes effect only once an event at or after `known_at_s` is seen, so a label known after a
payment can never change that payment's features. The delayed risk of a counterparty, agent or
device ("terminal risk" in the handbook) is frauds over labelled payments made on the days
`today - delay - n .. today - delay` ("1d", "7d", "30d" for n = 1, 7, 30), so with labels
known a delay after each payment it reaches back exactly to `now - delay`, as the handbook's
windows do. Risk counts labelled payments only: a deployment records a genuine label for every
payment that matured without a fraud report (as the handbook assumes), or the ratio becomes
frauds over reviewed payments. A fraud "at a usual amount" (not more than `unusual_z_score`
deviations above the customer's usual spending, judged when the label arrives) points at the
counterparty (a skimmed terminal) rather than at a stolen card; such frauds get their own
features.

Memory per key is fixed (the rings, plus at most `risk_counterparties_per_customer_max`
remembered parties per role for a customer and `risk_customers_per_device_max` customers per
device, least recently used forgotten first).
"""

from __future__ import annotations

import heapq
import math

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    risk_counterparties_per_customer_max,
    risk_customers_per_device_max,
    risk_pending_labels_max,
)
from hazina.risk.features.events import (
    FeatureConfig,
    Key,
    PaymentEvent,
    Role,
    seconds_per_day,
    seconds_per_hour,
)
from hazina.risk.features.windows import BucketRing

minute_bucket_s = 300
minute_buckets = 12  # one hour of 5-minute buckets
hour_buckets = 24  # one day of hour buckets
long_window_days = 30
short_window_days = 7
unusual_z_score = 3.0  # a payment this many deviations above the customer's mean is unusual
weekday_of_epoch = 3  # 1970-01-01 was a Thursday (Monday is 0)
missing = math.nan

customer_day_spans = ((0, short_window_days), (0, long_window_days))


party_day_spans = ((0, short_window_days), (0, long_window_days))


def _label_spans(delay_days: int) -> tuple[tuple[int, int], ...]:
    """The delayed risk windows "1d", "7d", "30d": days `today - delay - n .. today - delay`.

    The nearest day counts only the payments whose labels are already known, so a window
    reaches back exactly to `now - delay` when labels become known a delay after payment,
    as the handbook's windows do, and covers between n and n + 1 days.
    """
    return (
        (delay_days, 2),
        (delay_days, short_window_days + 1),
        (delay_days, long_window_days + 1),
    )


def feature_names(config: FeatureConfig) -> tuple[str, ...]:
    """The engine's features for `config`, in the order `features_for` returns them."""
    names = [
        "amount_minor",
        "is_weekend",
        "is_night",
        "hour_of_day",
        "customer_count_1h",
        "customer_count_1d",
        "customer_count_7d",
        "customer_count_30d",
        "customer_amount_mean_1h",
        "customer_amount_mean_1d",
        "customer_amount_mean_7d",
        "customer_amount_mean_30d",
        "customer_amount_ratio_30d",
        "customer_amount_z_score",
        "customer_log_amount_z_score",
        "customer_history_count",
        "customer_since_previous_s",
        "customer_unusual_count_1d",
        "customer_unusual_count_7d",
    ]
    for role in config.roles:
        party = role.value
        names += [
            f"{party}_count_1h",
            f"{party}_count_1d",
            f"{party}_count_7d",
            f"{party}_count_30d",
            f"is_new_{party}",
            f"customer_{party}_count",
            f"{party}_risk_count_1d",
            f"{party}_risk_count_7d",
            f"{party}_risk_count_30d",
            f"{party}_risk_1d",
            f"{party}_risk_7d",
            f"{party}_risk_30d",
            f"{party}_usual_risk_1d",
            f"{party}_usual_risk_7d",
            f"{party}_usual_risk_30d",
            f"{party}_known_fraud_age_days",
            f"{party}_usual_fraud_age_days",
            f"{party}_usual_fraud_onset_age_days",
            f"{party}_label_age_s",
            f"{party}_genuine_since_usual_fraud_count",
        ]
        if role is Role.device:
            names.append("device_customer_count")
    if config.balance:
        names.append("balance_drain_ratio")
    return tuple(names)


def _party_feature_count(role: Role) -> int:
    return 21 if role is Role.device else 20


# known at, sequence, payment time, fraud (0/1), customer, amount, the payment's parties by role
_PendingLabel = tuple[int, int, int, int, Key, int, tuple[Key | None, ...]]


class _CustomerState:
    __slots__ = (
        "amount_mean",
        "amount_square_sum",
        "days",
        "history_count",
        "hours",
        "last_s",
        "log_amount_mean",
        "log_amount_square_sum",
        "minutes",
        "parties",
    )

    def __init__(self, roles_count: int) -> None:
        self.minutes = BucketRing(minute_buckets, ((0, minute_buckets),))
        self.hours = BucketRing(hour_buckets, ((0, hour_buckets),))
        self.days = BucketRing(long_window_days, customer_day_spans)
        self.history_count = 0
        self.last_s = 0
        # The customer's usual spending: Welford's running mean and sum of squared deviations
        # of the amount and of its logarithm, each payment clipped to `unusual_z_score`
        # deviations above the mean before it is folded in, so a run of fraudulent payments
        # barely moves the baseline while a lasting change of habits still does.
        self.amount_mean = 0.0
        self.amount_square_sum = 0.0
        self.amount_mean = 0.0
        self.amount_square_sum = 0.0
        self.log_amount_mean = 0.0
        self.log_amount_square_sum = 0.0
        # Per role: party key -> payments with it, in least-recently-used order.
        self.parties: list[dict[Key, int]] = [{} for _ in range(roles_count)]


class _PartyState:
    __slots__ = (
        "customers",
        "days",
        "genuine_since_usual_fraud",
        "hours",
        "labels",
        "last_fraud_day",
        "last_labelled_s",
        "last_usual_fraud_day",
        "last_usual_fraud_s",
        "minutes",
    )

    def __init__(self, label_buckets: int, label_spans: tuple[tuple[int, int], ...]) -> None:
        self.minutes = BucketRing(minute_buckets, ((0, minute_buckets),))
        self.hours = BucketRing(hour_buckets, ((0, hour_buckets),))
        self.days = BucketRing(long_window_days, party_day_spans)
        # Per day of payment: labelled payments (counts) and frauds (marks), as labels arrive.
        self.labels = BucketRing(label_buckets, label_spans)
        self.last_fraud_day: int | None = None
        self.last_labelled_s: int | None = None  # the newest payment whose label is known
        self.last_usual_fraud_day: int | None = None
        # Genuine labelled payments made after the newest fraud at a usual amount: none while
        # a skimmed terminal is still skimming, a growing count once it is clean again.
        self.last_usual_fraud_s: int | None = None
        self.genuine_since_usual_fraud = 0
        self.customers: dict[Key, None] = {}  # devices only: recent customers, LRU order


class FeatureEngine:
    """Keeps the per-key state and turns each payment into a vector of `feature_names`.

    Use `observe(event)` on the payment path and in replays (features, then the event is
    folded in); `features_for` scores without folding in, `update` folds in without scoring.
    """

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config if config is not None else FeatureConfig()
        self.names = feature_names(self.config)
        self._roles = self.config.roles
        self._role_indexes = tuple(list(Role).index(role) for role in self._roles)
        self._device_position = self._roles.index(Role.device) if Role.device in self._roles else -1
        self._delay_days = self.config.label_delay_days
        self._label_spans = _label_spans(self._delay_days)
        self._label_buckets = self._delay_days + long_window_days + 1
        self._offset_s = self.config.utc_offset_s
        self._night_hour_max = self.config.night_hour_max
        self._balance = self.config.balance
        self._customers: dict[Key, _CustomerState] = {}
        self._parties: list[dict[Key, _PartyState]] = [{} for _ in self._roles]
        self._pending: list[_PendingLabel] = []
        self._label_sequence = 0
        self._now_s = 0
        self._party_missing = [[missing] * _party_feature_count(role) for role in self._roles]

    @property
    def now_s(self) -> int:
        """The newest event time seen: the engine's notion of now."""
        return self._now_s

    @property
    def pending_labels(self) -> int:
        """Labels recorded whose known-at time no event has reached yet."""
        return len(self._pending)

    def observe(self, event: PaymentEvent) -> list[float]:
        """The payment's features (it included in its windows), then fold it into the state."""
        return self._process(event, apply=True)

    def features_for(self, event: PaymentEvent) -> list[float]:
        """The payment's features without remembering it (it still moves time forward)."""
        return self._process(event, apply=False)

    def update(self, event: PaymentEvent) -> None:
        """Fold a payment into the state (after `features_for`, to complete an `observe`)."""
        self._process(event, apply=True)

    def record_label(self, event: PaymentEvent, is_fraud: bool, known_at_s: int) -> None:
        """A payment's label (fraud or genuine), known from `known_at_s`: it feeds the delayed
        risk of the payment's counterparty, agent and device once an event at or after that
        time comes. Risk is frauds over labelled payments, so genuine labels count too."""
        invariant(known_at_s >= event.timestamp_s, "a label is known only after its payment")
        invariant(len(self._pending) < risk_pending_labels_max, "too many labels pending")
        keys = (event.counterparty, event.agent, event.device)
        parties = tuple(keys[index] for index in self._role_indexes)
        self._label_sequence += 1
        label = (
            known_at_s,
            self._label_sequence,
            event.timestamp_s,
            1 if is_fraud else 0,
            event.customer,
            event.amount_minor,
            parties,
        )
        heapq.heappush(self._pending, label)

    def _apply_known_labels(self, now_s: int) -> None:
        pending = self._pending
        today = (now_s + self._offset_s) // seconds_per_day
        while pending and pending[0][0] <= now_s:
            _known_at, _sequence, timestamp_s, fraud, customer, amount, keys = heapq.heappop(
                pending
            )
            payment_day = (timestamp_s + self._offset_s) // seconds_per_day
            usual_fraud = 1 if fraud and not self._unusual_for(customer, amount) else 0
            for position, key in enumerate(keys):
                if key is None:
                    continue
                parties = self._parties[position]
                state = parties.get(key)
                if state is None:  # a label can come before its party's first payment is seen
                    state = _PartyState(self._label_buckets, self._label_spans)
                    parties[key] = state
                state.labels.advance(today)
                state.labels.add_to_past(payment_day, 1, usual_fraud, fraud)
                if state.last_labelled_s is None or timestamp_s > state.last_labelled_s:
                    state.last_labelled_s = timestamp_s
                last_usual_fraud_s = state.last_usual_fraud_s
                if last_usual_fraud_s is not None and timestamp_s > last_usual_fraud_s:
                    if usual_fraud:
                        state.last_usual_fraud_s = timestamp_s
                        state.genuine_since_usual_fraud = 0
                    elif not fraud:
                        state.genuine_since_usual_fraud += 1
                elif usual_fraud and last_usual_fraud_s is None:
                    state.last_usual_fraud_s = timestamp_s
                if fraud and (state.last_fraud_day is None or payment_day > state.last_fraud_day):
                    state.last_fraud_day = payment_day
                if usual_fraud and (
                    state.last_usual_fraud_day is None or payment_day > state.last_usual_fraud_day
                ):
                    state.last_usual_fraud_day = payment_day

    def _unusual_for(self, customer_key: Key, amount: int) -> bool:
        """Whether `amount` is unusual for the customer's spending as known now: a fraud at a
        usual amount points at the counterparty (a skimmed terminal), an unusual one at the
        card."""
        customer = self._customers.get(customer_key)
        if customer is None or customer.history_count < 2:
            return False
        deviation = math.sqrt(customer.amount_square_sum / (customer.history_count - 1))
        if deviation <= 0.0:
            return False
        return (amount - customer.amount_mean) / deviation > unusual_z_score

    def _process(self, event: PaymentEvent, apply: bool) -> list[float]:
        timestamp_s = event.timestamp_s
        now_s = self._now_s
        if timestamp_s > now_s:
            now_s = timestamp_s
            self._now_s = now_s
        if self._pending and self._pending[0][0] <= now_s:
            self._apply_known_labels(now_s)
        offset_s = self._offset_s
        local_s = timestamp_s + offset_s
        epoch_day = local_s // seconds_per_day
        hour = (local_s % seconds_per_day) // seconds_per_hour
        now_local_s = now_s + offset_s
        minute_bucket = now_local_s // minute_bucket_s
        hour_bucket = now_local_s // seconds_per_hour
        today = now_local_s // seconds_per_day
        amount = event.amount_minor

        customer_key = event.customer
        customer = self._customers.get(customer_key)
        if customer is None:
            customer = _CustomerState(len(self._roles))
            if apply:
                self._customers[customer_key] = customer
        minutes = customer.minutes
        hours = customer.hours
        days = customer.days
        minutes.advance(minute_bucket)
        hours.advance(hour_bucket)
        days.advance(today)
        count_1h = minutes.window_counts[0]
        count_1d = hours.window_counts[0]
        count_7d = days.window_counts[0]
        count_30d = days.window_counts[1]
        amount_30d = days.window_sums[1]
        history_count = customer.history_count
        log_amount = math.log1p(amount)
        standard_deviation = 0.0
        log_standard_deviation = 0.0
        if history_count >= 2:
            standard_deviation = math.sqrt(customer.amount_square_sum / (history_count - 1))
            log_standard_deviation = math.sqrt(customer.log_amount_square_sum / (history_count - 1))
            z_score = (
                (amount - customer.amount_mean) / standard_deviation
                if standard_deviation > 0.0
                else 0.0
            )
            log_z_score = (
                (log_amount - customer.log_amount_mean) / log_standard_deviation
                if log_standard_deviation > 0.0
                else 0.0
            )
        else:
            z_score = missing
            log_z_score = missing
        values: list[float] = [
            amount,
            1.0 if (epoch_day + weekday_of_epoch) % 7 >= 5 else 0.0,
            1.0 if hour <= self._night_hour_max else 0.0,
            hour,
            count_1h + 1,
            count_1d + 1,
            count_7d + 1,
            count_30d + 1,
            (minutes.window_sums[0] + amount) / (count_1h + 1),
            (hours.window_sums[0] + amount) / (count_1d + 1),
            (days.window_sums[0] + amount) / (count_7d + 1),
            (amount_30d + amount) / (count_30d + 1),
            amount * count_30d / amount_30d if amount_30d > 0 else missing,
            z_score,
            log_z_score,
            history_count,
            now_s - customer.last_s if history_count > 0 else missing,
            hours.window_marks[0],
            days.window_marks[0],
        ]

        keys = (event.counterparty, event.agent, event.device)
        for position, role_index in enumerate(self._role_indexes):
            key = keys[role_index]
            if key is None:
                values += self._party_missing[position]
                continue
            parties = self._parties[position]
            party = parties.get(key)
            if party is None:
                party = _PartyState(self._label_buckets, self._label_spans)
                if apply:
                    parties[key] = party
            party_minutes = party.minutes
            party_hours = party.hours
            party_days = party.days
            party_minutes.advance(minute_bucket)
            party_hours.advance(hour_bucket)
            party_days.advance(today)
            labels = party.labels
            labels.advance(today)
            label_counts = labels.window_counts
            label_marks = labels.window_marks
            label_sums = labels.window_sums
            risk_count_1d = label_counts[0]
            risk_count_7d = label_counts[1]
            risk_count_30d = label_counts[2]
            pair_count = customer.parties[position].get(key, 0)
            last_fraud_day = party.last_fraud_day
            last_usual_fraud_day = party.last_usual_fraud_day
            values += [
                party_minutes.window_counts[0] + 1,
                party_hours.window_counts[0] + 1,
                party_days.window_counts[0] + 1,
                party_days.window_counts[1] + 1,
                1.0 if pair_count == 0 else 0.0,
                pair_count,
                risk_count_1d,
                risk_count_7d,
                risk_count_30d,
                label_marks[0] / risk_count_1d if risk_count_1d > 0 else 0.0,
                label_marks[1] / risk_count_7d if risk_count_7d > 0 else 0.0,
                label_marks[2] / risk_count_30d if risk_count_30d > 0 else 0.0,
                label_sums[0] / risk_count_1d if risk_count_1d > 0 else 0.0,
                label_sums[1] / risk_count_7d if risk_count_7d > 0 else 0.0,
                label_sums[2] / risk_count_30d if risk_count_30d > 0 else 0.0,
                today - last_fraud_day if last_fraud_day is not None else missing,
                today - last_usual_fraud_day if last_usual_fraud_day is not None else missing,
                _usual_fraud_onset_age_days(labels, today, last_usual_fraud_day),
                now_s - party.last_labelled_s if party.last_labelled_s is not None else missing,
                party.genuine_since_usual_fraud
                if party.last_usual_fraud_s is not None
                else missing,
            ]
            if position == self._device_position:
                seen = party.customers
                values.append(len(seen) + (0 if customer_key in seen else 1))
            if apply:
                party_minutes.add_to_head(amount, 0)
                party_hours.add_to_head(amount, 0)
                party_days.add_to_head(amount, 0)
                _remember(
                    customer.parties[position],
                    key,
                    pair_count + 1,
                    risk_counterparties_per_customer_max,
                )
                if position == self._device_position:
                    seen = party.customers
                    seen.pop(customer_key, None)
                    seen[customer_key] = None
                    if len(seen) > risk_customers_per_device_max:
                        del seen[next(iter(seen))]

        if self._balance:
            balance = event.balance_before_minor
            values.append(missing if balance is None else amount / max(balance, 1))

        if apply:
            unusual = 1 if z_score > unusual_z_score else 0
            minutes.add_to_head(amount, unusual)
            hours.add_to_head(amount, unusual)
            days.add_to_head(amount, unusual)
            folded = float(amount)
            folded_log = log_amount
            if history_count >= 2:
                folded = min(folded, customer.amount_mean + unusual_z_score * standard_deviation)
                folded_log = min(
                    folded_log, customer.log_amount_mean + unusual_z_score * log_standard_deviation
                )
            history_count += 1
            delta = folded - customer.amount_mean
            customer.amount_mean += delta / history_count
            customer.amount_square_sum += delta * (folded - customer.amount_mean)
            delta = folded_log - customer.log_amount_mean
            customer.log_amount_mean += delta / history_count
            customer.log_amount_square_sum += delta * (folded_log - customer.log_amount_mean)
            customer.history_count = history_count
            customer.last_s = now_s
        return values


def _usual_fraud_onset_age_days(
    labels: BucketRing, today: int, last_usual_fraud_day: int | None
) -> float:
    """Age of the oldest day with a fraud at a usual amount that the label ring still holds:
    how long ago the party's recent trouble began (O(ring), only for parties with one)."""
    if last_usual_fraud_day is None or today - last_usual_fraud_day >= labels.size:
        return missing
    usual_frauds = labels.sums
    size = labels.size
    for offset in range(size - 1, -1, -1):
        if usual_frauds[(today - offset) % size] > 0:
            return float(offset)
    return missing


def _remember(recent: dict[Key, int], key: Key, count: int, size_max: int) -> None:
    """Set `recent[key]` as the most recently used entry; forget the least recent past size."""
    recent.pop(key, None)
    recent[key] = count
    if len(recent) > size_max:
        del recent[next(iter(recent))]
