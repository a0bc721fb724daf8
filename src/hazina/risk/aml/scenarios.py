"""The monitoring scenarios: each reads the transaction graph and returns alerts.

Every detector is a pure function of (graph, settings): no clock, no randomness, no storage.
Each alert names one account, the transactions that made the scenario fire (bounded by
`aml_alert_evidence_max`, earliest first) and one sentence saying why. Where a scenario fires
several times on one account, the account gets one alert that sums them up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_alert_evidence_max, aml_cycles_per_account_max
from hazina.risk.aml.alerts import Alert, Scenario
from hazina.risk.aml.cycles import CycleSearch, find_cycles
from hazina.risk.aml.graph import Int64Array, TransactionGraph
from hazina.risk.aml.settings import ScenarioSettings, format_amount, format_duration
from hazina.risk.aml.windows import group_axis, prefix_sums, window_starts


@dataclass(slots=True)
class _Finding:
    """What one scenario gathered about one account before it becomes an alert."""

    positions: set[int] = field(default_factory=set)
    counterparties: set[int] = field(default_factory=set)
    parts: list[str] = field(default_factory=list)


def _alert(
    graph: TransactionGraph, scenario: Scenario, index: int, finding: _Finding, reason: str
) -> Alert:
    evidence = sorted(finding.positions)[:aml_alert_evidence_max]
    account = int(graph.accounts[index])
    counterparties = sorted(int(graph.accounts[i]) for i in finding.counterparties if i != index)
    return Alert(
        scenario=scenario,
        account=account,
        transaction_ids=graph.ids_of(evidence),
        counterparties=tuple(counterparties),
        reason=reason,
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- structuring ---------------------------------------------------------------------------------


def detect_structuring(graph: TransactionGraph, settings: ScenarioSettings) -> list[Alert]:
    """A payer sends one payee at least `structuring_transfers_min` transfers, each below the
    reporting threshold, within `structuring_window_s`, together at least
    `structuring_total_min`. Both the payer and the payee are named."""
    positions = np.flatnonzero(graph.amounts < settings.reporting_threshold).astype(np.int64)
    if positions.size == 0:
        return []
    pairs = graph.sources[positions] * graph.account_count + graph.destinations[positions]
    order = np.lexsort((positions, graph.seconds[positions], pairs))
    positions, pairs = positions[order], pairs[order]
    keys = group_axis(pairs, graph.seconds[positions], settings.structuring_window_s)
    starts = window_starts(keys, settings.structuring_window_s)
    counts = np.arange(positions.size, dtype=np.int64) - starts + 1
    sums = prefix_sums(graph.amounts[positions])
    totals = sums[np.arange(1, positions.size + 1)] - sums[starts]
    hits = np.flatnonzero(
        (counts >= settings.structuring_transfers_min) & (totals >= settings.structuring_total_min)
    )
    sent: dict[int, _Finding] = {}
    received: dict[int, _Finding] = {}
    for end in hits.tolist():
        window = positions[int(starts[end]) : end + 1].tolist()
        source = int(graph.sources[positions[end]])
        destination = int(graph.destinations[positions[end]])
        payer = sent.setdefault(source, _Finding())
        payer.positions.update(window)
        payer.counterparties.add(destination)
        payee = received.setdefault(destination, _Finding())
        payee.positions.update(window)
        payee.counterparties.add(source)
    threshold = format_amount(settings.reporting_threshold, settings.currency_digits)
    window_words = format_duration(settings.structuring_window_s)
    alerts: list[Alert] = []
    for index in sorted(set(sent) | set(received)):
        finding = _Finding()
        sentences: list[str] = []
        for role, found, direction in (("sent", sent, "to"), ("received", received, "from")):
            part = found.get(index)
            if part is None:
                continue
            total = int(graph.amounts[sorted(part.positions)].sum())
            sentences.append(
                f"{role} {_plural(len(part.positions), 'transfer')} below {threshold} "
                f"{direction} {_plural(len(part.counterparties), 'account')} in bursts of "
                f"{settings.structuring_transfers_min} or more within {window_words}, "
                f"totalling {format_amount(total, settings.currency_digits)}"
            )
            finding.positions |= part.positions
            finding.counterparties |= part.counterparties
        reason = "Split transfers: " + "; ".join(sentences) + "."
        alerts.append(_alert(graph, Scenario.structuring, index, finding, reason))
    return alerts


# -- rapid pass-through --------------------------------------------------------------------------


def detect_rapid_pass_through(graph: TransactionGraph, settings: ScenarioSettings) -> list[Alert]:
    """Money received and sent on within `pass_through_window_s`: from an incoming transfer,
    the inflow of the window is at least `pass_through_amount_min` and the outflow of the
    same window is between the two percentages of it."""
    window = settings.pass_through_window_s
    # The CSR orders group positions by account, in time order within an account.
    in_positions = graph.in_order
    out_positions = graph.out_order
    if in_positions.size == 0 or out_positions.size == 0:
        return []
    in_accounts = graph.destinations[in_positions]
    out_accounts = graph.sources[out_positions]
    # One axis for both directions: rank accounts by index, not by appearance.
    stride = int(graph.seconds.max()) + window + 1
    in_keys = in_accounts * stride + graph.seconds[in_positions]
    out_keys = out_accounts * stride + graph.seconds[out_positions]
    invariant(bool(np.all(np.diff(in_keys) >= 0)), "inflows sorted by account, then time")
    in_sums = prefix_sums(graph.amounts[in_positions])
    out_sums = prefix_sums(graph.amounts[out_positions])
    in_begin = np.searchsorted(in_keys, in_keys, side="left")
    in_end = np.searchsorted(in_keys, in_keys + window, side="right")
    out_begin = np.searchsorted(out_keys, in_keys, side="left")
    out_end = np.searchsorted(out_keys, in_keys + window, side="right")
    inflows = (in_sums[in_end] - in_sums[in_begin]).astype(np.float64)
    outflows = (out_sums[out_end] - out_sums[out_begin]).astype(np.float64)
    hits = np.flatnonzero(
        (inflows >= settings.pass_through_amount_min)
        & (outflows * 100 >= inflows * settings.pass_through_out_percent_min)
        & (outflows * 100 <= inflows * settings.pass_through_out_percent_max)
    )
    findings: dict[int, _Finding] = {}
    episodes: Counter[int] = Counter()
    moved: Counter[int] = Counter()
    last_end: dict[int, int] = {}
    for hit in hits.tolist():
        index = int(in_accounts[hit])
        if last_end.get(index, -1) > hit:
            continue  # inside an episode already counted
        last_end[index] = int(in_end[hit])
        finding = findings.setdefault(index, _Finding())
        incoming = in_positions[int(in_begin[hit]) : int(in_end[hit])]
        outgoing = out_positions[int(out_begin[hit]) : int(out_end[hit])]
        finding.positions.update(incoming.tolist())
        finding.positions.update(outgoing.tolist())
        finding.counterparties.update(graph.sources[incoming].tolist())
        finding.counterparties.update(graph.destinations[outgoing].tolist())
        episodes[index] += 1
        moved[index] += int(graph.amounts[incoming].sum())
    window_words = format_duration(window)
    alerts = []
    for index in sorted(findings):
        reason = (
            f"Rapid pass-through: {_plural(episodes[index], 'time')} received "
            f"{format_amount(moved[index], settings.currency_digits)} in all and sent "
            f"{settings.pass_through_out_percent_min}-{settings.pass_through_out_percent_max}% "
            f"of it on within {window_words}."
        )
        alerts.append(_alert(graph, Scenario.rapid_pass_through, index, findings[index], reason))
    return alerts


# -- fan-in and fan-out --------------------------------------------------------------------------


def detect_fan_in(graph: TransactionGraph, settings: ScenarioSettings) -> list[Alert]:
    """An account paid by at least `fan_in_counterparties_min` distinct accounts within
    `fan_window_s`, counting transfers of at most `fan_amount_max`."""
    return _detect_fan(graph, settings, incoming=True)


def detect_fan_out(graph: TransactionGraph, settings: ScenarioSettings) -> list[Alert]:
    """An account paying at least `fan_out_counterparties_min` distinct accounts within
    `fan_window_s`, counting transfers of at most `fan_amount_max`."""
    return _detect_fan(graph, settings, incoming=False)


def _detect_fan(graph: TransactionGraph, settings: ScenarioSettings, incoming: bool) -> list[Alert]:
    minimum = (
        settings.fan_in_counterparties_min if incoming else settings.fan_out_counterparties_min
    )
    positions = np.flatnonzero(graph.amounts <= settings.fan_amount_max).astype(np.int64)
    subjects = (graph.destinations if incoming else graph.sources)[positions]
    others = (graph.sources if incoming else graph.destinations)[positions]
    distinct_pairs = np.unique(subjects * graph.account_count + others)
    distinct = np.bincount(distinct_pairs // graph.account_count, minlength=graph.account_count)
    keep = distinct[subjects] >= minimum
    positions, subjects, others = positions[keep], subjects[keep], others[keep]
    order = np.lexsort((positions, graph.seconds[positions], subjects))
    positions, subjects, others = positions[order], subjects[order], others[order]
    best = distinct_window_maxima(subjects, others, graph.seconds[positions], settings.fan_window_s)
    alerts = []
    direction = "from" if incoming else "to"
    verb = "received" if incoming else "sent"
    scenario = Scenario.fan_in if incoming else Scenario.fan_out
    for index, (count, begin, end) in sorted(best.items()):
        if count < minimum:
            continue
        window = positions[begin:end]
        finding = _Finding(
            positions=set(window.tolist()), counterparties=set(others[begin:end].tolist())
        )
        reason = (
            f"{'Fan-in' if incoming else 'Fan-out'}: {verb} {_plural(end - begin, 'transfer')} "
            f"of at most {format_amount(settings.fan_amount_max, settings.currency_digits)} "
            f"{direction} {count} distinct accounts within "
            f"{format_duration(settings.fan_window_s)}, totalling "
            f"{format_amount(int(graph.amounts[window].sum()), settings.currency_digits)}."
        )
        alerts.append(_alert(graph, scenario, index, finding, reason))
    return alerts


def distinct_window_maxima(
    subjects: Int64Array, others: Int64Array, seconds: Int64Array, window_s: int
) -> dict[int, tuple[int, int, int]]:
    """Per subject (input sorted by subject, then time): the most distinct `others` in any
    window of `window_s`, as (count, begin, end) over the input positions, earliest first."""
    best: dict[int, tuple[int, int, int]] = {}
    subject_list, other_list, second_list = subjects.tolist(), others.tolist(), seconds.tolist()
    total = len(subject_list)
    begin = 0
    while begin < total:
        subject = subject_list[begin]
        end_of_group = begin
        while end_of_group < total and subject_list[end_of_group] == subject:
            end_of_group += 1
        seen: Counter[int] = Counter()
        left = begin
        record = (0, begin, begin)
        for right in range(begin, end_of_group):
            seen[other_list[right]] += 1
            while second_list[right] - second_list[left] > window_s:
                seen[other_list[left]] -= 1
                if seen[other_list[left]] == 0:
                    del seen[other_list[left]]
                left += 1
            if len(seen) > record[0]:
                record = (len(seen), left, right + 1)
        best[subject] = record
        begin = end_of_group
    return best


# -- cycles --------------------------------------------------------------------------------------


def cycle_alerts(
    graph: TransactionGraph, settings: ScenarioSettings, search: CycleSearch
) -> list[Alert]:
    """Alerts for every account on a cycle the bounded search found."""
    per_account: dict[int, list[int]] = {}
    for number, cycle in enumerate(search.cycles):
        for index in cycle.accounts:
            per_account.setdefault(index, []).append(number)
    window_words = format_duration(settings.cycle_window_s)
    alerts = []
    for index in sorted(per_account):
        numbers = per_account[index]
        kept = [search.cycles[n] for n in numbers[:aml_cycles_per_account_max]]
        finding = _Finding()
        for cycle in kept:
            finding.positions.update(cycle.positions)
            finding.counterparties.update(cycle.accounts)
        first = kept[0]
        route = " -> ".join(
            str(int(graph.accounts[a])) for a in (*first.accounts, first.accounts[0])
        )
        lengths = sorted({cycle.length for cycle in kept})
        span = str(lengths[0]) if len(lengths) == 1 else f"{lengths[0]}-{lengths[-1]}"
        first_amount = format_amount(
            int(graph.amounts[first.positions[0]]), settings.currency_digits
        )
        reason = (
            f"Cycle: on {_plural(len(numbers), 'cycle')} of {span} transfers that bring value "
            f"back to where it started within {window_words}; the first is {route}, "
            f"{first_amount} on its first hop."
        )
        alerts.append(_alert(graph, Scenario.cycle, index, finding, reason))
    return alerts


def detect_cycles(graph: TransactionGraph, settings: ScenarioSettings) -> list[Alert]:
    """Accounts on a cycle of transfers (see `hazina.risk.aml.cycles`)."""
    return cycle_alerts(graph, settings, find_cycles(graph, settings))


# -- dormant then active -------------------------------------------------------------------------


def detect_dormant_then_active(graph: TransactionGraph, settings: ScenarioSettings) -> list[Alert]:
    """An account with no transfer in or out for `dormant_quiet_s` that then makes at least
    `dormant_burst_transfers_min` transfers moving `dormant_burst_amount_min` or more within
    `dormant_burst_window_s`."""
    count = graph.transaction_count
    if count == 0:
        return []
    positions = np.concatenate((np.arange(count), np.arange(count))).astype(np.int64)
    accounts = np.concatenate((graph.sources, graph.destinations))
    order = np.lexsort((positions, graph.seconds[positions], accounts))
    positions, accounts = positions[order], accounts[order]
    seconds = graph.seconds[positions]
    window = settings.dormant_burst_window_s
    keys = accounts * (int(seconds.max()) + max(window, settings.dormant_quiet_s) + 1) + seconds
    same = np.concatenate(([False], np.diff(accounts) == 0))
    gaps = np.concatenate(([0], np.diff(seconds)))
    wake = np.flatnonzero(same & (gaps >= settings.dormant_quiet_s))
    if wake.size == 0:
        return []
    ends = np.searchsorted(keys, keys[wake] + window, side="right")
    sums = prefix_sums(graph.amounts[positions])
    volumes = sums[ends] - sums[wake]
    transfers = ends - wake
    alerts = []
    done: set[int] = set()
    for number in np.flatnonzero(
        (transfers >= settings.dormant_burst_transfers_min)
        & (volumes >= settings.dormant_burst_amount_min)
    ).tolist():
        begin, end = int(wake[number]), int(ends[number])
        index = int(accounts[begin])
        if index in done:
            continue
        done.add(index)
        burst = positions[begin:end]
        counterparties = set(graph.sources[burst].tolist()) | set(
            graph.destinations[burst].tolist()
        )
        finding = _Finding(positions=set(burst.tolist()), counterparties=counterparties)
        quiet_days = int(gaps[begin]) // 86_400
        reason = (
            f"Dormant then active: no transfers for {quiet_days} days, then "
            f"{_plural(end - begin, 'transfer')} moving "
            f"{format_amount(int(volumes[number]), settings.currency_digits)} within "
            f"{format_duration(window)}."
        )
        alerts.append(_alert(graph, Scenario.dormant_then_active, index, finding, reason))
    return alerts


# -- all of them ---------------------------------------------------------------------------------

Detector = Callable[[TransactionGraph, ScenarioSettings], list[Alert]]

DETECTORS: dict[Scenario, Detector] = {
    Scenario.structuring: detect_structuring,
    Scenario.rapid_pass_through: detect_rapid_pass_through,
    Scenario.fan_in: detect_fan_in,
    Scenario.fan_out: detect_fan_out,
    Scenario.cycle: detect_cycles,
    Scenario.dormant_then_active: detect_dormant_then_active,
}


def run_scenarios(
    graph: TransactionGraph,
    settings: ScenarioSettings,
    scenarios: Iterable[Scenario] = tuple(DETECTORS),
) -> list[Alert]:
    """Run the named scenarios; alerts ordered by account, then scenario."""
    settings.validate()
    alerts: list[Alert] = []
    for scenario in scenarios:
        invariant(scenario in DETECTORS, f"{scenario} has no detector")
        alerts.extend(DETECTORS[scenario](graph, settings))
    alerts.sort(key=lambda alert: (alert.account, alert.scenario.value))
    return alerts
