"""The AML case service: alerts become cases that analysts assign, investigate and close.

Cases live in the platform database next to the ledger (tables in `case_schema`). Each write
runs as one ledger unit of work (`LedgerService.run`), so it sees the case as the writes before
it left it and commits whole or not at all; reads use the store's reader. The lifecycle itself
is pure (`case_model.next_status`); refusals are `CaseError`s with stable codes, and nothing of
a refused request is written. Every assignment and status change leaves an entry in the case's
history (`risk_case_notes`) beside the analysts' notes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hazina.kernel.ids import IdSource
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_case_notes_max, aml_case_page_max
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession
from hazina.risk.aml.alerts import Alert
from hazina.risk.aml.case_model import (
    CaseAction,
    CaseEvidence,
    CaseOutcome,
    CaseStatus,
    EvidenceAccount,
    EvidenceTransaction,
    case_summary,
    check_actor,
    check_note,
    check_outcome,
    gather_evidence,
    next_status,
)
from hazina.risk.aml.case_schema import SCHEMA
from hazina.risk.aml.errors import invalid, not_found
from hazina.risk.aml.graph import TransactionGraph

dispute_scenario = "customer_dispute"  # a case a customer opened by disputing a payment


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    subject_account: int
    status: CaseStatus
    typology: str | None  # the typology its alerts point to, when they name one
    scenarios: tuple[str, ...]
    summary: str
    assignee: str | None
    outcome: CaseOutcome | None
    report_reference: str | None  # the filed STR's reference, for escalated_str_filed
    neighbourhood_truncated: bool
    opened_by: str
    opened_at_ns: int
    updated_at_ns: int
    closed_at_ns: int | None
    version: int  # rises with every change


@dataclass(frozen=True, slots=True)
class CaseAlert:
    scenario: str
    reason: str
    transaction_ids: tuple[int, ...]
    counterparties: tuple[int, ...]
    raised_at_ns: int


@dataclass(frozen=True, slots=True)
class CaseNote:
    id: int
    case_id: int
    kind: str  # note, assignment or status
    author: str
    body: str
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: Case
    alerts: tuple[CaseAlert, ...]
    notes: tuple[CaseNote, ...]  # the history, oldest first
    evidence: CaseEvidence


_CASE_COLUMNS = (
    "id, subject_account, status, typology, scenarios, summary, assignee, outcome, "
    "report_reference, neighbourhood_truncated, opened_by, opened_at_ns, updated_at_ns, "
    "closed_at_ns, version"
)
_NOTE_COLUMNS = "id, case_id, kind, author, body, created_at_ns"


def _case_from_row(row: Sequence[Any]) -> Case:
    return Case(
        id=int(row[0]),
        subject_account=int(row[1]),
        status=CaseStatus(row[2]),
        typology=row[3],
        scenarios=tuple(json.loads(row[4])),
        summary=row[5],
        assignee=row[6],
        outcome=CaseOutcome(row[7]) if row[7] is not None else None,
        report_reference=row[8],
        neighbourhood_truncated=bool(row[9]),
        opened_by=row[10],
        opened_at_ns=int(row[11]),
        updated_at_ns=int(row[12]),
        closed_at_ns=int(row[13]) if row[13] is not None else None,
        version=int(row[14]),
    )


def _names_new_transactions(sql: SqlSession, alert: Alert) -> bool:
    """Whether the alert names a transaction no earlier alert of its scenario on its subject
    named."""
    named = tuple(dict.fromkeys(alert.transaction_ids))
    row = sql.fetch_one(
        "SELECT count(*) FROM risk_case_alert_transactions"
        " WHERE subject_account = ? AND scenario = ?"
        f" AND transaction_id IN ({', '.join('?' * len(named))})",
        (alert.account, alert.scenario.value, *named),
    )
    seen = int(row[0]) if row is not None else 0
    invariant(seen <= len(named), "each transaction is counted once")
    return seen < len(named)


def _note_from_row(row: Sequence[Any]) -> CaseNote:
    return CaseNote(int(row[0]), int(row[1]), row[2], row[3], row[4], int(row[5]))


class CaseService:
    """Cases over the ledger's database. Thread-safe: writes run one at a time on the
    ledger's committer; reads use the store's per-thread readers."""

    def __init__(self, ledger: LedgerService, ids: IdSource) -> None:
        self._ledger = ledger
        self._ids = ids
        ledger.store.ensure_schema("risk_aml_cases", SCHEMA)

    # -- opening -------------------------------------------------------------------------------

    def open_case(
        self, subject: int, alerts: Sequence[Alert], evidence: CaseEvidence, opened_by: str
    ) -> Case:
        """Open a case on `subject` from its alerts, or, when the subject has a case that is
        not closed, add the alerts and evidence to that one."""
        case_id = self._open(subject, alerts, evidence, opened_by, new_alerts_only=False)
        invariant(case_id is not None, "without filtering every alert is written")
        assert case_id is not None
        return self.get(case_id)

    def open_dispute(
        self, subject: int, payment: EvidenceTransaction, summary: str, opened_by: str
    ) -> Case:
        """A case for a customer's dispute of one payment (`subject` is the customer's
        account): always a case of its own (scenario `customer_dispute`), the payment as its
        evidence, worked and closed like any other."""
        actor = check_actor(opened_by, "opened_by")
        if not summary.strip():
            raise invalid("summary_required", "a dispute says what is disputed")
        if subject not in (payment.source, payment.destination):
            raise invalid("evidence_subject_mismatch", "the customer must be party to the payment")
        case_id = self._ids.next_id()

        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                f"INSERT INTO risk_cases ({_CASE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id, subject, CaseStatus.open.value, None,
                    json.dumps([dispute_scenario]), summary.strip(), None, None, None, 0,
                    actor, unit.now_ns, unit.now_ns, None, 1,
                ),
            )  # fmt: skip
            self._history(unit, case_id, "status", actor, "opened")
            unit.sql.execute(
                "INSERT INTO risk_case_evidence (case_id, transaction_id, source_account,"
                " destination_account, amount, currency, occurred_at_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id, payment.transaction_id, payment.source, payment.destination,
                    payment.amount, payment.currency, payment.timestamp_ns,
                ),
            )  # fmt: skip
            other = payment.destination if payment.source == subject else payment.source
            unit.sql.executemany(
                "INSERT INTO risk_case_accounts (case_id, account, hops) VALUES (?, ?, ?)",
                [(case_id, subject, 0), (case_id, other, 1)],
            )

        self._ledger.run(work)
        return self.get(case_id)

    def _open(
        self,
        subject: int,
        alerts: Sequence[Alert],
        evidence: CaseEvidence,
        opened_by: str,
        *,
        new_alerts_only: bool,
    ) -> int | None:
        """`open_case`; with `new_alerts_only`, an alert whose every transaction an earlier
        alert of the same scenario on the same subject already named is dropped, and when
        none is left nothing is written (None)."""
        actor = check_actor(opened_by, "opened_by")
        if not alerts:
            raise invalid("alerts_required", "a case starts from at least one alert")
        if any(alert.account != subject for alert in alerts):
            raise invalid("alert_subject_mismatch", "every alert must be about the subject")
        if not evidence.accounts or evidence.accounts[0] != EvidenceAccount(subject, 0):
            raise invalid("evidence_subject_mismatch", "the evidence must start at the subject")

        def work(unit: LedgerUnit) -> int | None:
            sql = unit.sql
            written = (
                [alert for alert in alerts if _names_new_transactions(sql, alert)]
                if new_alerts_only
                else list(alerts)
            )
            if not written:
                return None
            typology, scenarios, summary = case_summary(written)
            row = sql.fetch_one(
                f"SELECT {_CASE_COLUMNS} FROM risk_cases"
                " WHERE subject_account = ? AND status <> 'closed' AND scenarios NOT LIKE ?"
                " ORDER BY id LIMIT 1",
                (subject, f"%{dispute_scenario}%"),  # a customer's dispute stays its own case
            )
            if row is None:
                case_id = self._ids.next_id()
                sql.execute(
                    f"INSERT INTO risk_cases ({_CASE_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        case_id,
                        subject,
                        CaseStatus.open.value,
                        typology,
                        json.dumps(list(scenarios)),
                        summary,
                        None,
                        None,
                        None,
                        int(evidence.neighbourhood_truncated),
                        actor,
                        unit.now_ns,
                        unit.now_ns,
                        None,
                        1,
                    ),
                )
                first_position = 0
                self._history(unit, case_id, "status", actor, "opened")
            else:
                case = _case_from_row(row)
                case_id = case.id
                merged = tuple(dict.fromkeys((*case.scenarios, *scenarios)))
                sql.execute(
                    "UPDATE risk_cases SET scenarios = ?, summary = ?, typology = ?,"
                    " neighbourhood_truncated = ?, updated_at_ns = ?, version = version + 1"
                    " WHERE id = ?",
                    (
                        json.dumps(list(merged)),
                        f"{case.summary} {summary}",
                        case.typology or typology,
                        int(case.neighbourhood_truncated or evidence.neighbourhood_truncated),
                        unit.now_ns,
                        case_id,
                    ),
                )
                last = sql.fetch_one(
                    "SELECT max(position) FROM risk_case_alerts WHERE case_id = ?", (case_id,)
                )
                first_position = int(last[0]) + 1 if last and last[0] is not None else 0
                self._history(unit, case_id, "status", actor, f"{len(written)} alerts added")
            sql.executemany(
                "INSERT INTO risk_case_alert_transactions (subject_account, scenario,"
                " transaction_id, case_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (subject, alert.scenario.value, transaction_id, case_id)
                    for alert in written
                    for transaction_id in dict.fromkeys(alert.transaction_ids)
                ],
            )
            sql.executemany(
                "INSERT INTO risk_case_alerts (case_id, position, scenario, reason,"
                " transaction_ids, counterparties, raised_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        case_id,
                        first_position + offset,
                        alert.scenario.value,
                        alert.reason,
                        json.dumps(list(alert.transaction_ids)),
                        json.dumps(list(alert.counterparties)),
                        unit.now_ns,
                    )
                    for offset, alert in enumerate(written)
                ],
            )
            sql.executemany(
                "INSERT INTO risk_case_evidence (case_id, transaction_id, source_account,"
                " destination_account, amount, currency, occurred_at_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (
                        case_id,
                        item.transaction_id,
                        item.source,
                        item.destination,
                        item.amount,
                        item.currency,
                        item.timestamp_ns,
                    )
                    for item in evidence.transactions
                ],
            )
            sql.executemany(
                "INSERT INTO risk_case_accounts (case_id, account, hops) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(case_id, item.account, item.hops) for item in evidence.accounts],
            )
            return case_id

        return self._ledger.run(work)

    def open_cases(
        self,
        graph: TransactionGraph,
        alerts: Sequence[Alert],
        currency: str,
        opened_by: str,
        hops: int = 1,
        *,
        new_alerts_only: bool = False,
    ) -> list[Case]:
        """One case per alerted account (merged into its open case if it has one), with the
        alerts' transactions and the account's neighbourhood within `hops` as evidence.

        `new_alerts_only` (what a repeated monitoring scan wants): an alert is written only if
        it names a transaction that no earlier alert of its scenario on its subject named, so
        scanning the same payments again opens nothing, and a case closed as a false positive
        is not reopened by the pattern it was closed for; new activity still is."""
        by_subject: dict[int, list[Alert]] = {}
        for alert in alerts:
            by_subject.setdefault(alert.account, []).append(alert)
        cases = []
        for subject, subject_alerts in sorted(by_subject.items()):
            evidence = gather_evidence(graph, subject, subject_alerts, currency, hops)
            case_id = self._open(
                subject, subject_alerts, evidence, opened_by, new_alerts_only=new_alerts_only
            )
            if case_id is not None:
                cases.append(self.get(case_id))
        return cases

    # -- the lifecycle -------------------------------------------------------------------------

    def assign(self, case_id: int, assignee: str, actor: str) -> Case:
        """Give the case to an analyst (or to another one)."""
        name = check_actor(assignee, "assignee")
        by = check_actor(actor)

        def change(unit: LedgerUnit, case: Case) -> None:
            following = next_status(case.status, CaseAction.assign)
            self._update(unit, case, following, assignee=name)
            self._history(unit, case.id, "assignment", by, f"assigned to {name}")
            if following is not case.status:
                self._history(unit, case.id, "status", by, f"{case.status} -> {following}")

        return self._change(case_id, change)

    def start_investigation(self, case_id: int, actor: str) -> Case:
        by = check_actor(actor)

        def change(unit: LedgerUnit, case: Case) -> None:
            following = next_status(case.status, CaseAction.start_investigation)
            self._update(unit, case, following)
            self._history(unit, case.id, "status", by, f"{case.status} -> {following}")

        return self._change(case_id, change)

    def close(
        self,
        case_id: int,
        outcome: str,
        actor: str,
        note: str,
        report_reference: str | None = None,
    ) -> Case:
        """Close with an outcome and a note saying why; an escalated case names its report."""
        by = check_actor(actor)
        resolved = check_outcome(outcome, report_reference)
        body = check_note(note)
        reference = report_reference.strip() if report_reference else None

        def change(unit: LedgerUnit, case: Case) -> None:
            following = next_status(case.status, CaseAction.close)
            self._update(
                unit, case, following, outcome=resolved, report_reference=reference, closing=True
            )
            self._history(unit, case.id, "note", by, body)
            self._history(
                unit, case.id, "status", by, f"{case.status} -> {following}: {resolved.value}"
            )

        return self._change(case_id, change)

    def add_note(self, case_id: int, author: str, text: str) -> CaseNote:
        by = check_actor(author, "author")
        body = check_note(text)

        def work(unit: LedgerUnit) -> int:
            case = self._load(unit.sql, case_id)
            next_status(case.status, CaseAction.add_note)
            count = unit.sql.fetch_one(
                "SELECT count(*) FROM risk_case_notes WHERE case_id = ?", (case_id,)
            )
            if count is not None and int(count[0]) >= aml_case_notes_max:
                raise invalid("case_notes_full", f"a case holds at most {aml_case_notes_max} notes")
            note_id = self._history(unit, case_id, "note", by, body)
            unit.sql.execute(
                "UPDATE risk_cases SET updated_at_ns = ?, version = version + 1 WHERE id = ?",
                (unit.now_ns, case_id),
            )
            return note_id

        note_id = self._ledger.run(work)
        row = self._reader().fetch_one(
            f"SELECT {_NOTE_COLUMNS} FROM risk_case_notes WHERE id = ?", (note_id,)
        )
        if row is None:
            raise not_found("note_not_found", f"note {note_id} is not readable yet")
        return _note_from_row(row)

    # -- reading -------------------------------------------------------------------------------

    def get(self, case_id: int) -> Case:
        return self._load(self._reader(), case_id)

    def detail(self, case_id: int) -> CaseDetail:
        """The case with its alerts, history and evidence."""
        reader = self._reader()
        case = self._load(reader, case_id)
        alerts = tuple(
            CaseAlert(
                scenario=row[0],
                reason=row[1],
                transaction_ids=tuple(json.loads(row[2])),
                counterparties=tuple(json.loads(row[3])),
                raised_at_ns=int(row[4]),
            )
            for row in reader.fetch_all(
                "SELECT scenario, reason, transaction_ids, counterparties, raised_at_ns"
                " FROM risk_case_alerts WHERE case_id = ? ORDER BY position",
                (case_id,),
            )
        )
        notes = tuple(
            _note_from_row(row)
            for row in reader.fetch_all(
                f"SELECT {_NOTE_COLUMNS} FROM risk_case_notes WHERE case_id = ? ORDER BY id",
                (case_id,),
            )
        )
        transactions = tuple(
            EvidenceTransaction(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], int(r[5]))
            for r in reader.fetch_all(
                "SELECT transaction_id, source_account, destination_account, amount, currency,"
                " occurred_at_ns FROM risk_case_evidence WHERE case_id = ?"
                " ORDER BY occurred_at_ns, transaction_id",
                (case_id,),
            )
        )
        accounts = tuple(
            EvidenceAccount(int(r[0]), int(r[1]))
            for r in reader.fetch_all(
                "SELECT account, hops FROM risk_case_accounts WHERE case_id = ?"
                " ORDER BY hops, account",
                (case_id,),
            )
        )
        invariant(accounts[0].account == case.subject_account, "the subject comes first")
        return CaseDetail(
            case, alerts, notes, CaseEvidence(transactions, accounts, case.neighbourhood_truncated)
        )

    def list_cases(
        self,
        status: CaseStatus | None = None,
        assignee: str | None = None,
        limit: int = 50,
        starting_after: int | None = None,
        subject_accounts: Sequence[int] = (),
    ) -> list[Case]:
        """A page of cases by id, optionally of one status, one assignee and some subjects."""
        if not 1 <= limit <= aml_case_page_max:
            raise invalid("limit_invalid", f"limit must be between 1 and {aml_case_page_max}")
        clauses: list[str] = []
        parameters: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            parameters.append(CaseStatus(status).value)
        if assignee is not None:
            clauses.append("assignee = ?")
            parameters.append(assignee)
        if starting_after is not None:
            clauses.append("id > ?")
            parameters.append(starting_after)
        if subject_accounts:
            clauses.append(f"subject_account IN ({', '.join('?' * len(subject_accounts))})")
            parameters.extend(subject_accounts)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._reader().fetch_all(
            f"SELECT {_CASE_COLUMNS} FROM risk_cases{where} ORDER BY id LIMIT ?",
            (*parameters, limit),
        )
        return [_case_from_row(row) for row in rows]

    def count_by_status(self) -> dict[CaseStatus, int]:
        """How many cases are in each status (every status named, zero when none)."""
        rows = self._reader().fetch_all("SELECT status, COUNT(*) FROM risk_cases GROUP BY status")
        counts = dict.fromkeys(CaseStatus, 0)
        for status, count in rows:
            counts[CaseStatus(status)] = int(count)
        return counts

    # -- helpers -------------------------------------------------------------------------------

    def _reader(self) -> SqlSession:
        return self._ledger.store.reader()

    def _load(self, sql: SqlSession, case_id: int) -> Case:
        row = sql.fetch_one(f"SELECT {_CASE_COLUMNS} FROM risk_cases WHERE id = ?", (case_id,))
        if row is None:
            raise not_found("case_not_found", f"no case {case_id}", case_id=case_id)
        return _case_from_row(row)

    def _change(self, case_id: int, change: Callable[[LedgerUnit, Case], None]) -> Case:
        def work(unit: LedgerUnit) -> None:
            change(unit, self._load(unit.sql, case_id))

        self._ledger.run(work)
        return self.get(case_id)

    def _update(
        self,
        unit: LedgerUnit,
        case: Case,
        status: CaseStatus,
        *,
        assignee: str | None = None,
        outcome: CaseOutcome | None = None,
        report_reference: str | None = None,
        closing: bool = False,
    ) -> None:
        changed = unit.sql.execute(
            "UPDATE risk_cases SET status = ?, assignee = ?, outcome = ?, report_reference = ?,"
            " closed_at_ns = ?, updated_at_ns = ?, version = version + 1"
            " WHERE id = ? AND version = ?",
            (
                status.value,
                assignee if assignee is not None else case.assignee,
                outcome.value if outcome is not None else None,
                report_reference,
                unit.now_ns if closing else None,
                unit.now_ns,
                case.id,
                case.version,
            ),
        )
        invariant(changed == 1, "units run one at a time: the case cannot change under us")

    def _history(self, unit: LedgerUnit, case_id: int, kind: str, author: str, body: str) -> int:
        note_id = self._ids.next_id()
        unit.sql.execute(
            f"INSERT INTO risk_case_notes ({_NOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (note_id, case_id, kind, author, body, unit.now_ns),
        )
        return note_id
