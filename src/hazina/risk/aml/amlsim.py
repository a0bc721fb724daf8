"""The AMLSim samples: loading them, and measuring the scenarios and the model on them.

IBM's AMLSim samples (`aml_amlsim` in the shared datasets) each hold 20,000 accounts
(`nodes.csv`: `nodeid, isFraud, init_balance, fraudStep`) and about 118,000 transfers
(`transactions.csv`: `sourceNodeId, targetNodeId, value, time`, time in steps of one day).
`20K_cycle200` plants 200 cycles, `20K_fanin200` 200 fan-ins, and `20K_fanin200cycle200`
both. The files label laundering accounts but not their typology; the samples share a seed,
and every account flagged in `20K_cycle200` is flagged in the mixed sample with its cycle
transfers unchanged, so in the mixed sample an account is a cycle account when
`20K_cycle200` flags it and a fan-in account otherwise.

Measured per sample and per typology: precision, recall and F1 of the flagged accounts, for
the rule scenarios (no training) and for the learned model (every account scored by a model
trained on the other folds of a stratified k-fold over accounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.csv as arrow_csv  # type: ignore[import-untyped]

from hazina.kernel.datasets import dataset_path
from hazina.kernel.invariant import invariant
from hazina.risk.aml.alerts import Alert, Scenario, Typology
from hazina.risk.aml.cycles import CycleSearch, find_cycles
from hazina.risk.aml.features import graph_features
from hazina.risk.aml.graph import Int64Array, TransactionGraph
from hazina.risk.aml.metrics import Scores, score
from hazina.risk.aml.model import ModelSettings, cross_validated_scores
from hazina.risk.aml.scenarios import DETECTORS, cycle_alerts
from hazina.risk.aml.settings import ScenarioSettings

DATASET = "aml_amlsim"
SAMPLES = ("20K_cycle200", "20K_fanin200", "20K_fanin200cycle200")
SAMPLE_TYPOLOGIES: dict[str, tuple[Typology, ...]] = {
    "20K_cycle200": (Typology.cycle,),
    "20K_fanin200": (Typology.fan_in,),
    "20K_fanin200cycle200": (Typology.cycle, Typology.fan_in),
}
# Where a sample mixes typologies, the single-typology sample that names the cycle accounts.
CYCLE_REFERENCE = "20K_cycle200"

EPOCH_S = 1_577_836_800  # step 0 is 2020-01-01T00:00:00Z
STEP_S = 86_400  # one AMLSim step is one day
AMOUNT_DIGITS = 2  # AMLSim values have two decimals: minor units are hundredths

# AMLSim draws every normal transfer from [100, 600); its laundering transfers are smaller.
# Below this, a labelled account's transfers are laundering ones: a diagnostic only, used to
# count labelled accounts that took part in no laundering transfer (no detector sees them).
SMALLEST_NORMAL_AMOUNT = 10_000

# The scenarios switched on for the AMLSim portfolio. Rapid pass-through and dormancy run and
# are reported on their own, but AMLSim simulates neither, so they only add false alarms here.
RULE_SCENARIOS = (Scenario.structuring, Scenario.fan_in, Scenario.fan_out, Scenario.cycle)


def amlsim_settings() -> ScenarioSettings:
    """The scenario thresholds calibrated for AMLSim (one step = one day, values 2.5-600)."""
    day = STEP_S
    return ScenarioSettings(
        currency_digits=AMOUNT_DIGITS,
        reporting_threshold=100_000,  # 1,000.00: above every AMLSim transfer
        structuring_window_s=day,
        structuring_transfers_min=2,
        structuring_total_min=1,
        pass_through_window_s=day,  # one step: the finest time AMLSim has
        pass_through_amount_min=1,
        pass_through_out_percent_min=90,
        pass_through_out_percent_max=110,
        fan_window_s=150 * day,  # the whole simulation
        fan_in_counterparties_min=2,
        fan_out_counterparties_min=2,
        fan_amount_max=SMALLEST_NORMAL_AMOUNT - 1,
        cycle_length_min=2,
        cycle_length_max=6,
        cycle_window_s=150 * day,
        cycle_amount_tolerance_percent=1,
        cycle_amount_min=1,
        cycle_time_ordered=False,  # AMLSim schedules a cycle's hops at random steps
        dormant_quiet_s=90 * day,
        dormant_burst_window_s=7 * day,
        dormant_burst_transfers_min=5,
        dormant_burst_amount_min=1,
        feature_windows_s=(day, 7 * day, 30 * day),
    ).validate()


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    name: str
    graph: TransactionGraph
    accounts: frozenset[int]  # every account in nodes.csv, with transfers or not
    typology_of: dict[int, Typology]  # the laundering accounts and their typology
    self_transfers_dropped: int  # transfers from an account to itself (the graph refuses them)

    @property
    def laundering(self) -> frozenset[int]:
        return frozenset(self.typology_of)


def _columns(path: Path, names: Sequence[str]) -> list[npt.NDArray[Any]]:
    table = arrow_csv.read_csv(path)
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}")
    return [table.column(name).to_numpy() for name in names]


def _laundering_accounts(folder: Path) -> tuple[Int64Array, Int64Array]:
    node_ids, is_fraud = _columns(folder / "nodes.csv", ("nodeid", "isFraud"))
    return node_ids.astype(np.int64), node_ids[is_fraud.astype(bool)].astype(np.int64)


def load_sample(name: str, root: Path | None = None) -> Sample:
    """Read one sample into a graph and its labels. `root` defaults to the shared datasets."""
    if name not in SAMPLE_TYPOLOGIES:
        raise ValueError(f"unknown AMLSim sample {name!r}; known: {', '.join(SAMPLES)}")
    base = root if root is not None else dataset_path(DATASET)
    folder = base / name
    node_ids, laundering = _laundering_accounts(folder)
    sources, destinations, values, steps = _columns(
        folder / "transactions.csv", ("sourceNodeId", "targetNodeId", "value", "time")
    )
    sources, destinations = sources.astype(np.int64), destinations.astype(np.int64)
    keep = sources != destinations
    amounts = np.rint(values.astype(np.float64) * 10**AMOUNT_DIGITS).astype(np.int64)
    times = (EPOCH_S + steps.astype(np.int64) * STEP_S) * 1_000_000_000
    ids = np.arange(1, sources.size + 1, dtype=np.int64)  # the row number in the file
    graph = TransactionGraph.from_arrays(
        ids[keep], sources[keep], destinations[keep], amounts[keep], times[keep]
    )
    typologies = SAMPLE_TYPOLOGIES[name]
    if len(typologies) == 1:
        typology_of = {int(account): typologies[0] for account in laundering.tolist()}
    else:
        _, cycle_accounts = _laundering_accounts(base / CYCLE_REFERENCE)
        cycles = set(cycle_accounts.tolist())
        typology_of = {
            int(account): Typology.cycle if account in cycles else Typology.fan_in
            for account in laundering.tolist()
        }
    accounts = frozenset(int(account) for account in node_ids.tolist())
    invariant(set(typology_of) <= accounts, "laundering accounts are accounts")
    invariant(set(graph.accounts.tolist()) <= accounts, "every transfer is between known accounts")
    return Sample(name, graph, accounts, typology_of, int((~keep).sum()))


@dataclass(frozen=True, slots=True)
class Row:
    detector: str  # "rules", "model" or a scenario's name
    typology: str  # a typology, or "any" for all laundering accounts
    scores: Scores


@dataclass(frozen=True, slots=True)
class SampleEvaluation:
    sample: str
    accounts: int
    transactions: int
    laundering: int
    laundering_without_laundering_transfers: int  # no transfer below SMALLEST_NORMAL_AMOUNT
    rows: tuple[Row, ...]

    def row(self, detector: str, typology: str) -> Scores:
        for row in self.rows:
            if row.detector == detector and row.typology == typology:
                return row.scores
        raise KeyError(f"no row for {detector} / {typology}")


def _rows(
    detector: str,
    flagged: set[int],
    sample: Sample,
    typologies: Sequence[Typology],
    active: frozenset[int],
) -> list[Row]:
    """Per typology, all typologies ("any"), and "active": the laundering accounts that made
    or received a laundering transfer (the others left no trace in the transactions)."""
    innocent = sample.accounts - sample.laundering
    rows = []
    for typology in typologies:
        positives = {a for a, t in sample.typology_of.items() if t is typology}
        rows.append(Row(detector, typology.value, score(flagged, positives, positives | innocent)))
    rows.append(Row(detector, "any", score(flagged, set(sample.laundering), set(sample.accounts))))
    rows.append(Row(detector, "active", score(flagged, set(active), active | innocent)))
    return rows


def sample_alerts(
    sample: Sample, settings: ScenarioSettings, search: CycleSearch | None = None
) -> list[Alert]:
    """Every scenario's alerts on the sample; pass the cycle search if it ran already."""
    alerts: list[Alert] = []
    for scenario, detector in DETECTORS.items():
        if scenario is not Scenario.cycle:
            alerts.extend(detector(sample.graph, settings))
    found = search if search is not None else find_cycles(sample.graph, settings)
    alerts.extend(cycle_alerts(sample.graph, settings, found))
    return alerts


def evaluate_sample(
    sample: Sample,
    settings: ScenarioSettings | None = None,
    model_settings: ModelSettings | None = None,
) -> SampleEvaluation:
    """Rules, each scenario alone, and the cross-validated model, per typology."""
    settings = (settings or amlsim_settings()).validate()
    model_settings = (model_settings or ModelSettings()).validate()
    graph = sample.graph
    typologies = SAMPLE_TYPOLOGIES[sample.name]
    small = graph.amounts < SMALLEST_NORMAL_AMOUNT
    touched = set(graph.accounts[graph.sources[small]].tolist())
    touched |= set(graph.accounts[graph.destinations[small]].tolist())
    active = frozenset(sample.laundering & touched)
    search = find_cycles(graph, settings)
    alerts = sample_alerts(sample, settings, search)
    rows: list[Row] = []
    rules = {a.account for a in alerts if a.scenario in RULE_SCENARIOS}
    rows.extend(_rows("rules", rules, sample, typologies, active))

    features = graph_features(graph, settings, search)
    labels = np.isin(graph.accounts, np.fromiter(sample.laundering, dtype=np.int64))
    scores = cross_validated_scores(features, labels, model_settings)
    model = {int(a) for a in graph.accounts[scores >= model_settings.threshold].tolist()}
    rows.extend(_rows("model", model, sample, typologies, active))

    everyone, laundering = set(sample.accounts), set(sample.laundering)
    for scenario in DETECTORS:
        flagged = {a.account for a in alerts if a.scenario is scenario}
        rows.append(Row(scenario.value, "any", score(flagged, laundering, everyone)))
    return SampleEvaluation(
        sample=sample.name,
        accounts=len(sample.accounts),
        transactions=graph.transaction_count,
        laundering=len(sample.laundering),
        laundering_without_laundering_transfers=len(sample.laundering - active),
        rows=tuple(rows),
    )


def evaluate(
    names: Sequence[str] = SAMPLES,
    root: Path | None = None,
    settings: ScenarioSettings | None = None,
    model_settings: ModelSettings | None = None,
) -> list[SampleEvaluation]:
    return [evaluate_sample(load_sample(name, root), settings, model_settings) for name in names]


def render_table(evaluations: Sequence[SampleEvaluation], scenarios: bool = True) -> str:
    """A Markdown table: sample, detector, typology, flagged, laundering, P, R, F1."""
    lines = [
        "| sample | detector | typology | flagged | laundering | precision | recall | F1 |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for evaluation in evaluations:
        for row in evaluation.rows:
            if not scenarios and row.detector not in ("rules", "model"):
                continue
            s = row.scores
            lines.append(
                f"| {evaluation.sample} | {row.detector} | {row.typology} | {s.flagged} | "
                f"{s.positives} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |"
            )
    return "\n".join(lines)
