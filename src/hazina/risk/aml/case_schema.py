"""Tables of AML cases, in the ledger's database (one DDL for SQLite and PostgreSQL).

A case is about one subject account. It keeps the alerts that opened it (`risk_case_alerts`),
its evidence: the transactions the alerts name (`risk_case_evidence`) and the subject's graph
neighbourhood (`risk_case_accounts`), and its history (`risk_case_notes`: analysts' notes and
one entry per assignment and status change). `risk_case_alert_transactions` remembers every
(subject, scenario, transaction) an alert has named, so a repeated scan raises nothing twice.
The CHECK constraints hold the lifecycle's shape even against writes that bypass the service.
Ids are 63-bit integers from `IdSource`.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS risk_cases (
    id               BIGINT PRIMARY KEY,
    subject_account  BIGINT NOT NULL,
    status           TEXT NOT NULL
                         CHECK (status IN ('open', 'assigned', 'investigating', 'closed')),
    typology         TEXT,
    scenarios        TEXT NOT NULL,
    summary          TEXT NOT NULL,
    assignee         TEXT,
    outcome          TEXT CHECK (outcome IS NULL OR outcome IN
                         ('false_positive', 'legitimate_activity', 'escalated_str_filed',
                          'relationship_exited')),
    report_reference TEXT,
    neighbourhood_truncated INTEGER NOT NULL CHECK (neighbourhood_truncated IN (0, 1)),
    opened_by        TEXT NOT NULL,
    opened_at_ns     BIGINT NOT NULL,
    updated_at_ns    BIGINT NOT NULL,
    closed_at_ns     BIGINT,
    version          INTEGER NOT NULL CHECK (version >= 1),
    CHECK ((status = 'closed') = (outcome IS NOT NULL)),
    CHECK ((status = 'closed') = (closed_at_ns IS NOT NULL)),
    CHECK (status = 'open' OR assignee IS NOT NULL),
    CHECK ((outcome = 'escalated_str_filed') = (report_reference IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS risk_cases_status ON risk_cases (status, id);
CREATE INDEX IF NOT EXISTS risk_cases_subject ON risk_cases (subject_account, id);
CREATE INDEX IF NOT EXISTS risk_cases_assignee ON risk_cases (assignee, id);
CREATE TABLE IF NOT EXISTS risk_case_alerts (
    case_id          BIGINT NOT NULL REFERENCES risk_cases (id),
    position         INTEGER NOT NULL CHECK (position >= 0),
    scenario         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    transaction_ids  TEXT NOT NULL,
    counterparties   TEXT NOT NULL,
    raised_at_ns     BIGINT NOT NULL,
    PRIMARY KEY (case_id, position)
);
CREATE TABLE IF NOT EXISTS risk_case_notes (
    id               BIGINT PRIMARY KEY,
    case_id          BIGINT NOT NULL REFERENCES risk_cases (id),
    kind             TEXT NOT NULL CHECK (kind IN ('note', 'assignment', 'status')),
    author           TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at_ns    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS risk_case_notes_case ON risk_case_notes (case_id, id);
CREATE TABLE IF NOT EXISTS risk_case_evidence (
    case_id          BIGINT NOT NULL REFERENCES risk_cases (id),
    transaction_id   BIGINT NOT NULL,
    source_account   BIGINT NOT NULL,
    destination_account BIGINT NOT NULL,
    amount           BIGINT NOT NULL CHECK (amount > 0),
    currency         TEXT NOT NULL,
    occurred_at_ns   BIGINT NOT NULL,
    PRIMARY KEY (case_id, transaction_id),
    CHECK (source_account <> destination_account)
);
CREATE TABLE IF NOT EXISTS risk_case_alert_transactions (
    subject_account  BIGINT NOT NULL,
    scenario         TEXT NOT NULL,
    transaction_id   BIGINT NOT NULL,
    case_id          BIGINT NOT NULL REFERENCES risk_cases (id),
    PRIMARY KEY (subject_account, scenario, transaction_id)
);
CREATE TABLE IF NOT EXISTS risk_case_accounts (
    case_id          BIGINT NOT NULL REFERENCES risk_cases (id),
    account          BIGINT NOT NULL,
    hops             INTEGER NOT NULL CHECK (hops >= 0),
    PRIMARY KEY (case_id, account)
);
"""
