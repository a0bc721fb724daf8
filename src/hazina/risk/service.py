"""Risk screening in the payment path: features, model, rules, decision, and their records.

The payments service asks `screen(facts)` before it posts a customer's payment. The online
feature engine turns the payment into features (without remembering it yet), the champion model
scores them with per-feature contributions, the active rule set is evaluated over the same
features and the payment's own facts, and `decide` combines them. A model that fails at
payment time does not lose the payment: rules decide alone, the failure is logged and the
decision says so. After the payment is posted, `observed(facts)` folds it into the features.

Decisions are rows in `risk_decisions`, written inside the payment's own unit of work (so the
decision and the payment commit together), or on their own for declines. Rule sets are
versioned rows in `risk_rule_sets`, validated when saved, never at payment time. Step-up
challenges (one-time codes sent to the customer through the outbox) are `risk_challenges`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    risk_decision_page_max,
    risk_history_window_s,
    risk_labelling_batch_max,
    risk_labelling_batches_max,
    risk_step_up_attempts_max,
    risk_step_up_lifetime_s,
)
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession
from hazina.risk.decision import Decision, Reason, Thresholds, decide, top_reasons
from hazina.risk.features.engine import FeatureEngine
from hazina.risk.features.events import FeatureConfig, PaymentEvent, Role
from hazina.risk.rules import FeatureValue, Rule, RuleError, RuleHit, evaluate, parse_rules

log = logging.getLogger("hazina.risk")

nanoseconds_per_second = 1_000_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS risk_rule_sets (
    version       INTEGER PRIMARY KEY,
    rules         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS risk_decisions (
    id             BIGINT PRIMARY KEY,
    transaction_id BIGINT,
    payer_party_id BIGINT NOT NULL,
    payment_type   TEXT NOT NULL,
    currency       TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('approve', 'step_up', 'hold', 'decline')),
    score          DOUBLE PRECISION,
    reasons        TEXT NOT NULL,
    rule_hits      TEXT NOT NULL,
    model_version  TEXT,
    rules_version  INTEGER NOT NULL,
    fallback       TEXT,
    latency_us     BIGINT NOT NULL,
    created_at_ns  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS risk_decisions_transaction ON risk_decisions (transaction_id);
CREATE INDEX IF NOT EXISTS risk_decisions_action ON risk_decisions (action, id);
CREATE TABLE IF NOT EXISTS risk_labels (
    transaction_id BIGINT PRIMARY KEY,
    is_fraud       INTEGER NOT NULL CHECK (is_fraud IN (0, 1)),
    source         TEXT NOT NULL CHECK (source IN ('review', 'matured')),
    labelled_by    TEXT NOT NULL,
    payer_party_id BIGINT NOT NULL,
    payee_party_id BIGINT NOT NULL,
    agent_party_id BIGINT,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    paid_at_ns     BIGINT NOT NULL,
    known_at_ns    BIGINT NOT NULL,
    CHECK (known_at_ns >= paid_at_ns),
    CHECK (source = 'review' OR is_fraud = 0)
);
CREATE INDEX IF NOT EXISTS risk_labels_paid ON risk_labels (paid_at_ns);
CREATE TABLE IF NOT EXISTS risk_labelling_progress (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    paid_at_ns     BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS risk_challenges (
    id             BIGINT PRIMARY KEY,
    payer_party_id BIGINT NOT NULL,
    request_hash   TEXT NOT NULL,
    code_hash      TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'passed', 'spent')),
    expires_at_ns  BIGINT NOT NULL,
    created_at_ns  BIGINT NOT NULL
);
"""

# Facts of the payment itself that rules may use beside the engine's features.
PAYMENT_FEATURES: dict[str, str] = {
    "amount": "number",  # minor units
    "hour_of_day": "number",  # UTC hour, 0-23
    "payer_kyc_tier": "number",
    "payment_type": "text",
    "currency": "text",
    "payee_kind": "text",
}


class FraudScorer(Protocol):
    """A trained model: the probability of fraud and each feature's contribution to it."""

    @property
    def version(self) -> str: ...

    @property
    def feature_names(self) -> Sequence[str]: ...

    def score(self, values: Sequence[float]) -> tuple[float, Sequence[float]]: ...


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """A payment about to be posted, as risk screening sees it."""

    payment_type: str
    currency: str
    amount: int  # minor units
    payer_party_id: int
    payer_kyc_tier: int
    payee_party_id: int
    payee_kind: str
    at_ns: int
    agent_party_id: int | None = None
    device: str | None = None
    balance_before: int | None = None  # the payer's available balance, minor units

    def event(self) -> PaymentEvent:
        return PaymentEvent(
            timestamp_s=self.at_ns // nanoseconds_per_second,
            customer=self.payer_party_id,
            amount_minor=self.amount,
            counterparty=self.payee_party_id,
            agent=self.agent_party_id,
            device=self.device,
            balance_before_minor=self.balance_before,
        )


@dataclass(frozen=True, slots=True)
class Screening:
    """A decision on one payment, with what is needed to record it."""

    decision: Decision
    facts: PaymentFacts
    latency_us: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: int  # 0: no rules saved yet
    rules: tuple[Rule, ...]
    created_by: str
    created_at_ns: int

    def source(self) -> list[Mapping[str, Any]]:
        return [rule.source for rule in self.rules]


@dataclass(frozen=True, slots=True)
class ScreenedPayment:
    """A screened payment as the labelling step sees it: its id, status and facts."""

    transaction_id: int
    status: str
    facts: PaymentFacts


class ScreenedPayments(Protocol):
    """Where the labelling step reads payments from (the payments service)."""

    def screened_after(
        self, after: tuple[int, int], until_ns: int, limit: int
    ) -> list[ScreenedPayment]: ...


@dataclass(frozen=True, slots=True)
class StoredLabel:
    """A label kept in `risk_labels`: which payment, fraud or genuine, known when."""

    transaction_id: int
    event: PaymentEvent
    is_fraud: bool
    known_at_ns: int


@dataclass(frozen=True, slots=True)
class LabellingReport:
    labelled: int  # payments labelled genuine now
    skipped: int  # matured payments left unlabelled: held, failed or reversed
    until_ns: int  # payments made up to this moment have matured


# A matured payment in one of these states went through and nobody reported it: genuine.
# Held payments wait for their review (which labels them); failed and reversed ones are left.
_GENUINE_STATUSES = frozenset({"completed", "pending"})


class StepUpError(Exception):
    """A step-up code that does not pass: `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RiskService:
    """Thread-safe: the feature engine is behind a lock (scoring takes well under a ms)."""

    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        *,
        scorer: FraudScorer | None = None,
        thresholds: Thresholds | None = None,
        feature_config: FeatureConfig | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self.thresholds = thresholds or Thresholds()
        self.engine = FeatureEngine(
            feature_config
            or FeatureConfig(roles=(Role.counterparty, Role.agent, Role.device), balance=True)
        )
        self._scorer: FraudScorer | None = None
        self._engine_lock = threading.Lock()
        self._random_bytes = random_bytes
        ledger.store.ensure_schema("risk", SCHEMA)
        self._rules = self._load_rules()
        if scorer is not None:
            self.use_model(scorer)

    # -- configuration -------------------------------------------------------------------------

    @property
    def known_features(self) -> dict[str, str]:
        """Every name a rule may use, with its type ("number" or "text")."""
        return {**dict.fromkeys(self.engine.names, "number"), **PAYMENT_FEATURES}

    @property
    def model_version(self) -> str | None:
        return None if self._scorer is None else self._scorer.version

    def use_model(self, scorer: FraudScorer) -> None:
        """Make `scorer` the champion; its features must be the engine's, in order."""
        if tuple(scorer.feature_names) != tuple(self.engine.names):
            raise RuleError(
                "model_features_mismatch",
                f"model {scorer.version} was trained on other features than the engine makes",
            )
        self._scorer = scorer

    def rules(self) -> RuleSet:
        return self._rules

    def save_rules(self, rules: Any, created_by: str) -> RuleSet:
        """Validate and store a new version of the rule set; it applies from now on."""
        parsed = parse_rules(rules, self.known_features)
        source = json.dumps([rule.source for rule in parsed], sort_keys=True)

        def work(unit: LedgerUnit) -> RuleSet:
            row = unit.sql.fetch_one("SELECT max(version) FROM risk_rule_sets")
            version = (row[0] if row is not None and row[0] is not None else 0) + 1
            unit.sql.execute(
                "INSERT INTO risk_rule_sets (version, rules, created_by, created_at_ns)"
                " VALUES (?, ?, ?, ?)",
                (version, source, created_by, unit.now_ns),
            )
            return RuleSet(version, parsed, created_by, unit.now_ns)

        saved = self._ledger.run(work)
        self._rules = saved
        return saved

    def rule_set(self, version: int) -> RuleSet | None:
        row = self._ledger.store.reader().fetch_one(
            "SELECT version, rules, created_by, created_at_ns FROM risk_rule_sets"
            " WHERE version = ?",
            (version,),
        )
        return None if row is None else self._rule_set_from_row(row)

    def _load_rules(self) -> RuleSet:
        row = self._ledger.store.reader().fetch_one(
            "SELECT version, rules, created_by, created_at_ns FROM risk_rule_sets"
            " ORDER BY version DESC LIMIT 1"
        )
        if row is None:
            return RuleSet(0, (), "", 0)
        return self._rule_set_from_row(row)

    def _rule_set_from_row(self, row: tuple[Any, ...]) -> RuleSet:
        return RuleSet(
            int(row[0]), parse_rules(json.loads(row[1]), self.known_features), row[2], row[3]
        )

    # -- the payment path ----------------------------------------------------------------------

    def screen(self, facts: PaymentFacts) -> Screening:
        """Decide on a payment before it is posted. Never raises for a model failure."""
        started = time.perf_counter_ns()
        event = facts.event()
        with self._engine_lock:
            values = self.engine.features_for(event)
        names = self.engine.names
        features: dict[str, FeatureValue] = dict(zip(names, values, strict=True))
        features.update(
            amount=facts.amount,
            hour_of_day=(facts.at_ns // nanoseconds_per_second // 3_600) % 24,
            payer_kyc_tier=facts.payer_kyc_tier,
            payment_type=facts.payment_type,
            currency=facts.currency,
            payee_kind=facts.payee_kind,
        )
        rules = self._rules
        hits = evaluate(rules.rules, features)
        score: float | None = None
        reasons: tuple[Reason, ...] = ()
        fallback: str | None = None
        scorer = self._scorer
        if scorer is None:
            fallback = "no model in use"
        else:
            try:
                probability, contributions = scorer.score(values)
                invariant(0.0 <= probability <= 1.0, "a model returns a probability")
                score = float(probability)
                reasons = top_reasons(names, values, contributions)
            except Exception as error:  # the payment goes on: rules decide alone
                fallback = f"model {scorer.version} failed: {type(error).__name__}: {error}"
                log.exception("risk model failed at payment time; rules decide alone")
        decision = decide(
            score,
            reasons,
            hits,
            self.thresholds,
            model_version=None if scorer is None else scorer.version,
            rules_version=rules.version,
            fallback=fallback,
        )
        latency_us = (time.perf_counter_ns() - started) // 1_000
        return Screening(decision, facts, latency_us)

    def observed(self, facts: PaymentFacts) -> None:
        """A screened payment was posted: remember it in the features."""
        with self._engine_lock:
            self.engine.update(facts.event())

    def record_label(self, facts: PaymentFacts, is_fraud: bool, known_at_ns: int) -> None:
        """An analyst's verdict on a payment, fed to the delayed counterparty risk features."""
        with self._engine_lock:
            self.engine.record_label(
                facts.event(), is_fraud, max(known_at_ns, facts.at_ns) // nanoseconds_per_second
            )

    # -- labels ---------------------------------------------------------------------------------

    def save_label(
        self,
        sql: SqlSession,
        transaction_id: int,
        facts: PaymentFacts,
        *,
        is_fraud: bool,
        source: str,
        labelled_by: str,
        known_at_ns: int,
    ) -> bool:
        """Keep a payment's label (inside the caller's unit of work); False when the payment
        already had one (the first label stands). The engine learns it from `record_label`."""
        invariant(source in ("review", "matured"), "a label comes from a review or maturity")
        invariant(source == "review" or not is_fraud, "only a review says fraud")
        changed = sql.execute(
            "INSERT INTO risk_labels (transaction_id, is_fraud, source, labelled_by,"
            " payer_party_id, payee_party_id, agent_party_id, amount, paid_at_ns, known_at_ns)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transaction_id) DO NOTHING",
            (
                transaction_id,
                int(is_fraud),
                source,
                labelled_by,
                facts.payer_party_id,
                facts.payee_party_id,
                facts.agent_party_id,
                facts.amount,
                facts.at_ns,
                max(known_at_ns, facts.at_ns),
            ),
        )
        return changed == 1

    def label_matured(self, payments: ScreenedPayments) -> LabellingReport:
        """Label genuine every screened payment that passed the label delay without a fraud
        report (the feature engine's delayed-label rule: risk is frauds over *labelled*
        payments, so the genuine ones must be labelled too). Idempotent: a cursor over
        (payment time, id) and the label's primary key make a second run label nothing."""
        now_ns = self._clock.now_ns()
        until_ns = now_ns - self.engine.config.label_delay_s * nanoseconds_per_second
        labelled = skipped = 0
        for _batch in range(risk_labelling_batches_max):
            cursor = self._labelling_cursor()
            batch = payments.screened_after(cursor, until_ns, risk_labelling_batch_max)
            invariant(len(batch) <= risk_labelling_batch_max, "a batch is bounded")
            if not batch:
                break
            last = (batch[-1].facts.at_ns, batch[-1].transaction_id)
            invariant(last > cursor, "the cursor moves forward")

            fresh = self._ledger.run(functools.partial(self._label_batch, rows=batch, last=last))
            with self._engine_lock:
                for facts in fresh:
                    self.engine.record_label(facts.event(), False, now_ns // nanoseconds_per_second)
            labelled += len(fresh)
            skipped += sum(1 for row in batch if row.status not in _GENUINE_STATUSES)
            if len(batch) < risk_labelling_batch_max:
                break
        return LabellingReport(labelled, skipped, until_ns)

    def _label_batch(
        self, unit: LedgerUnit, *, rows: list[ScreenedPayment], last: tuple[int, int]
    ) -> list[PaymentFacts]:
        """Label one batch genuine and move the cursor past it, in one unit of work."""
        if self._labelling_cursor(unit.sql) >= last:  # another process labelled it meanwhile
            return []
        fresh = []
        for row in rows:
            if row.status in _GENUINE_STATUSES and self.save_label(
                unit.sql,
                row.transaction_id,
                row.facts,
                is_fraud=False,
                source="matured",
                labelled_by="label-delay",
                known_at_ns=unit.now_ns,
            ):
                fresh.append(row.facts)
        unit.sql.execute(
            "INSERT INTO risk_labelling_progress (id, paid_at_ns, transaction_id)"
            " VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " paid_at_ns = excluded.paid_at_ns, transaction_id = excluded.transaction_id",
            last,
        )
        return fresh

    def _labelling_cursor(self, sql: SqlSession | None = None) -> tuple[int, int]:
        row = (sql or self._ledger.store.reader()).fetch_one(
            "SELECT paid_at_ns, transaction_id FROM risk_labelling_progress WHERE id = 1"
        )
        return (-1, -1) if row is None else (int(row[0]), int(row[1]))

    def stored_labels(self, since_ns: int, limit: int) -> list[StoredLabel]:
        """Labels of payments made since `since_ns`, oldest payment first (for a warm-up)."""
        rows = self._ledger.store.reader().fetch_all(
            "SELECT transaction_id, is_fraud, payer_party_id, payee_party_id, agent_party_id,"
            " amount, paid_at_ns, known_at_ns FROM risk_labels WHERE paid_at_ns >= ?"
            " ORDER BY paid_at_ns, transaction_id LIMIT ?",
            (since_ns, limit),
        )
        return [
            StoredLabel(
                transaction_id=int(row[0]),
                event=PaymentEvent(
                    timestamp_s=int(row[6]) // nanoseconds_per_second,
                    customer=int(row[2]),
                    amount_minor=int(row[5]),
                    counterparty=int(row[3]),
                    agent=None if row[4] is None else int(row[4]),
                ),
                is_fraud=bool(row[1]),
                known_at_ns=int(row[7]),
            )
            for row in rows
        ]

    def label_counts(self) -> dict[str, int]:
        """Labels kept, by kind: `fraud`, `genuine_review`, `genuine_matured`."""
        rows = self._ledger.store.reader().fetch_all(
            "SELECT is_fraud, source, count(*) FROM risk_labels GROUP BY is_fraud, source"
        )
        counts = {"fraud": 0, "genuine_review": 0, "genuine_matured": 0}
        for is_fraud, source, count in rows:
            key = "fraud" if is_fraud else f"genuine_{source}"
            counts[key] += int(count)
        return counts

    def record(self, sql: SqlSession, screening: Screening, transaction_id: int | None) -> int:
        """Write the decision (inside the payment's unit of work, or on its own)."""
        decision, facts = screening.decision, screening.facts
        decision_id = self._ids.next_id()
        sql.write(
            "INSERT INTO risk_decisions (id, transaction_id, payer_party_id, payment_type,"
            " currency, amount, action, score, reasons, rule_hits, model_version,"
            " rules_version, fallback, latency_us, created_at_ns)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                decision_id,
                transaction_id,
                facts.payer_party_id,
                facts.payment_type,
                facts.currency,
                facts.amount,
                decision.action.name,
                decision.score,
                json.dumps([_reason_json(r) for r in decision.reasons]),
                json.dumps([_hit_json(h) for h in decision.rule_hits]),
                decision.model_version,
                decision.rules_version,
                decision.fallback,
                screening.latency_us,
                facts.at_ns,
            ),
        )
        return decision_id

    def record_alone(self, screening: Screening) -> int:
        """Write a decision that no payment carries (a decline)."""
        return self._ledger.run(lambda unit: self.record(unit.sql, screening, None))

    # -- step-up -------------------------------------------------------------------------------

    def open_challenge(
        self, sql: SqlSession, payer_party_id: int, request_hash: str, now_ns: int
    ) -> tuple[int, str]:
        """A one-time six-digit code for this payer and this exact request; returns its id and
        the code (to send to the customer's phone, never to the API caller)."""
        challenge_id = self._ids.next_id()
        code = f"{int.from_bytes(self._random_bytes(4), 'big') % 1_000_000:06d}"
        sql.execute(
            "INSERT INTO risk_challenges (id, payer_party_id, request_hash, code_hash, attempts,"
            " status, expires_at_ns, created_at_ns) VALUES (?, ?, ?, ?, 0, 'open', ?, ?)",
            (
                challenge_id,
                payer_party_id,
                request_hash,
                _code_hash(challenge_id, code),
                now_ns + risk_step_up_lifetime_s * nanoseconds_per_second,
                now_ns,
            ),
        )
        return challenge_id, code

    def pass_challenge(
        self,
        sql: SqlSession,
        challenge_id: int,
        code: str,
        payer_party_id: int,
        request_hash: str,
        now_ns: int,
    ) -> None:
        """Spend a challenge with its code, inside the payment's unit. Raises `StepUpError`:
        a wrong code counts an attempt (and is kept even though the payment is refused)."""
        row = sql.fetch_one(
            "SELECT payer_party_id, request_hash, code_hash, attempts, status, expires_at_ns"
            " FROM risk_challenges WHERE id = ?",
            (challenge_id,),
        )
        if row is None or row[0] != payer_party_id or row[1] != request_hash:
            raise StepUpError("step_up_unknown", "no such step-up challenge for this payment")
        if row[4] != "open":
            raise StepUpError("step_up_spent", "this step-up challenge was already used up")
        if row[5] < now_ns:
            raise StepUpError("step_up_expired", "the step-up code has expired; start again")
        if not hmac.compare_digest(row[2], _code_hash(challenge_id, code)):
            attempts = int(row[3]) + 1
            raise StepUpError(
                "step_up_code_wrong",
                f"wrong step-up code ({risk_step_up_attempts_max - attempts} attempts left)"
                if attempts < risk_step_up_attempts_max
                else "wrong step-up code; the challenge is spent",
            )
        sql.execute("UPDATE risk_challenges SET status = 'passed' WHERE id = ?", (challenge_id,))

    def count_wrong_code(self, challenge_id: int) -> None:
        """Record a wrong code on its own (the payment's unit was rolled back)."""

        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                "UPDATE risk_challenges SET attempts = attempts + 1,"
                " status = CASE WHEN attempts + 1 >= ? THEN 'spent' ELSE status END"
                " WHERE id = ? AND status = 'open'",
                (risk_step_up_attempts_max, challenge_id),
            )

        self._ledger.run(work)

    # -- reading decisions ---------------------------------------------------------------------

    def decisions(
        self,
        *,
        action: str | None = None,
        transaction_id: int | None = None,
        payer_party_id: int | None = None,
        after_id: int = 0,
        limit: int = risk_decision_page_max,
    ) -> list[dict[str, Any]]:
        """Decisions in the order they were made, filtered; for analysts and the console."""
        invariant(0 < limit <= risk_decision_page_max + 1, "a page (and one more) is bounded")
        where: list[str] = []
        parameters: list[str | int] = []
        if action is not None:
            where.append("action = ?")
            parameters.append(action)
        if transaction_id is not None:
            where.append("transaction_id = ?")
            parameters.append(transaction_id)
        if payer_party_id is not None:
            where.append("payer_party_id = ?")
            parameters.append(payer_party_id)
        where.append("id > ?")
        parameters.append(after_id)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self._ledger.store.reader().fetch_all(
            f"SELECT {_DECISION_COLUMNS} FROM risk_decisions{clause} ORDER BY id LIMIT ?",
            (*parameters, limit),
        )
        return [_decision_row(row) for row in rows]

    def decision_counts(self, since_ns: int) -> dict[str, int]:
        """How many decisions of each action were made since `since_ns`."""
        rows = self._ledger.store.reader().fetch_all(
            "SELECT action, COUNT(*) FROM risk_decisions WHERE created_at_ns >= ?"
            " GROUP BY action ORDER BY action",
            (since_ns,),
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def warm_up(self, facts: Sequence[PaymentFacts], labels: Sequence[StoredLabel] = ()) -> None:
        """Fold past payments (oldest first) into the features, e.g. after a restart, with the
        labels kept for them, each recorded when the replay reaches the moment it was known
        (as it was live), so no payment's features see a label from its future."""
        horizon = max((f.at_ns for f in facts), default=0) - (
            risk_history_window_s * nanoseconds_per_second
        )
        ordered = sorted(labels, key=lambda label: (label.known_at_ns, label.transaction_id))
        position = 0

        def record(label: StoredLabel) -> None:
            self.engine.record_label(
                label.event, label.is_fraud, label.known_at_ns // nanoseconds_per_second
            )

        with self._engine_lock:
            for fact in facts:
                if fact.at_ns < horizon:
                    continue
                while position < len(ordered) and ordered[position].known_at_ns <= fact.at_ns:
                    record(ordered[position])
                    position += 1
                self.engine.update(fact.event())
            for label in ordered[position:]:
                record(label)


_DECISION_COLUMNS = (
    "id, transaction_id, payer_party_id, payment_type, currency, amount, action, score,"
    " reasons, rule_hits, model_version, rules_version, fallback, latency_us, created_at_ns"
)


def _decision_row(row: tuple[Any, ...]) -> dict[str, Any]:
    names = [name.strip() for name in _DECISION_COLUMNS.split(",")]
    record = dict(zip(names, row, strict=True))
    record["reasons"] = json.loads(record["reasons"])
    record["rule_hits"] = json.loads(record["rule_hits"])
    return record


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {
        "feature": reason.feature,
        "value": reason.value,
        "contribution": round(reason.contribution, 6),
    }


def _hit_json(hit: RuleHit) -> dict[str, str]:
    return {"rule": hit.name, "action": hit.action, "reason": hit.reason}


def _code_hash(challenge_id: int, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()
