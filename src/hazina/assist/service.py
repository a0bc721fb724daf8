"""The assistant service: conversations, the knowledge base, PINs and the hand-off queue.

Each customer message is checked, read by the intent model (outside any database work: the
model is the slow part), turned into a step by the pure dialogue, carried out through the
platform's own services (payments for balances, statements, disputes and blocking; loans for
loan balances), and written with its reply as one unit of work. Messages of one conversation
are handled one at a time. Nothing moves money: a dispute is a case and a reversal request
that staff approve, and blocking freezes the customer. Both wait for the customer's explicit yes.
PINs are argon2id hashes; a PIN typed into the chat is checked and then forgotten: the
transcript keeps "[withheld: PIN]" and nothing here logs message text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from hazina.assist import replies
from hazina.assist.dialogue import (
    Awaiting,
    HandOffReason,
    State,
    Step,
    StepKind,
    after_pin,
    next_step,
)
from hazina.assist.intents import Action
from hazina.assist.knowledge import (
    Article,
    ArticleError,
    KnowledgeIndex,
    Retrieved,
    check_slug,
    packaged_articles,
    parse_article,
)
from hazina.assist.model import IntentModel, Prediction
from hazina.assist.schema import SCHEMA
from hazina.assist.text import CheckedInput, InputChecker, InputKind, redact, words_of
from hazina.credit.loans.service import LoansService
from hazina.identity.passwords import hash_password, verify_password
from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    assist_articles_max,
    assist_conversation_messages_max,
    assist_page_max,
    assist_pin_attempts_max,
    assist_pin_length_max,
    assist_pin_length_min,
    assist_statement_transactions_max,
)
from hazina.kernel.money import Money, currency
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.payments.domain.chart import PartyKind, WalletKind
from hazina.payments.errors import PaymentError
from hazina.payments.records import TransactionSearch
from hazina.payments.service import PaymentsService
from hazina.risk.aml.case_model import EvidenceTransaction
from hazina.risk.aml.cases import CaseService

if TYPE_CHECKING:
    from hazina.bootstrap import Platform

default_confidence_threshold: Final = 0.45
_agents_listed: Final = 3
_lock_stripes: Final = 64


class AssistErrorKind(StrEnum):
    not_found = "not_found"
    conflict = "conflict"
    invalid = "invalid"


class AssistError(Exception):
    """A refused request; `code` is stable, `kind` says which HTTP status fits."""

    def __init__(self, kind: AssistErrorKind, code: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message


def _not_found(code: str, message: str) -> AssistError:
    return AssistError(AssistErrorKind.not_found, code, message)


def _conflict(code: str, message: str) -> AssistError:
    return AssistError(AssistErrorKind.conflict, code, message)


def _invalid(code: str, message: str) -> AssistError:
    return AssistError(AssistErrorKind.invalid, code, message)


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    party_id: int | None
    channel: str
    status: str  # open, handed_off, closed
    authenticated: bool
    pin_failures: int
    awaiting: Awaiting
    pending_action: Action | None
    pending_subject: int | None  # the transaction a pending dispute is about
    clarifications: int
    messages: int
    started_by: str
    created_at_ns: int
    updated_at_ns: int


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation_id: int
    position: int
    role: str  # customer, assistant, agent
    body: str
    intent: str | None
    confidence: float | None
    article_slug: str | None
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class HandOff:
    id: int
    conversation_id: int
    reason: HandOffReason
    status: str  # waiting, claimed, resolved
    assignee: str | None
    created_at_ns: int
    updated_at_ns: int


@dataclass(frozen=True, slots=True)
class Exchange:
    """One customer message and what came of it."""

    conversation: Conversation
    messages: tuple[Message, ...]  # the customer's (as stored) and the reply
    step: StepKind
    hand_off: HandOff | None


_CONVERSATION_COLUMNS = (
    "id, party_id, channel, status, authenticated, pin_failures, awaiting, pending_action,"
    " pending_subject, clarifications, messages, started_by, created_at_ns, updated_at_ns"
)
_MESSAGE_COLUMNS = (
    "id, conversation_id, position, role, body, intent, confidence_bps, article_slug, created_at_ns"
)
_HANDOFF_COLUMNS = "id, conversation_id, reason, status, assignee, created_at_ns, updated_at_ns"


def _conversation_from_row(row: Sequence[Any]) -> Conversation:
    return Conversation(
        int(row[0]),
        None if row[1] is None else int(row[1]),
        row[2],
        row[3],
        bool(row[4]),
        int(row[5]),
        Awaiting(row[6]),
        None if row[7] is None else Action(row[7]),
        None if row[8] is None else int(row[8]),
        int(row[9]),
        int(row[10]),
        row[11],
        int(row[12]),
        int(row[13]),
    )


def _message_from_row(row: Sequence[Any]) -> Message:
    return Message(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        row[3],
        row[4],
        row[5],
        None if row[6] is None else int(row[6]) / 10_000,
        row[7],
        int(row[8]),
    )


def _handoff_from_row(row: Sequence[Any]) -> HandOff:
    return HandOff(
        int(row[0]), int(row[1]), HandOffReason(row[2]), row[3], row[4], int(row[5]), int(row[6])
    )


def _money(amount: int, code: str) -> str:
    return str(Money(amount, currency(code)))


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What carrying out a step produced: the reply and the conversation's next state."""

    reply: str
    conversation: Conversation
    step: StepKind
    hand_off: HandOffReason | None = None
    intent: str | None = None
    confidence: float | None = None
    article: str | None = None


class AssistService:
    """The assistant over the platform database. Thread-safe."""

    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        payments: PaymentsService,
        loans: LoansService,
        model: IntentModel,
        *,
        confidence_threshold: float = default_confidence_threshold,
        cases: CaseService | None = None,
    ) -> None:
        invariant(0.0 < confidence_threshold < 1.0, "the threshold is a probability")
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._payments = payments
        self._loans = loans
        self._cases = cases
        self.model = model
        self.confidence_threshold = confidence_threshold
        ledger.store.ensure_schema("assist", SCHEMA)
        self._seed_articles()
        self._index_lock = threading.Lock()
        self._index: KnowledgeIndex | None = None
        self._index_key: tuple[tuple[str, int], ...] = ()
        self._locks = [threading.Lock() for _ in range(_lock_stripes)]
        vocabulary = set(model.vocabulary)
        for article in self.articles():
            vocabulary.update(words_of(article.markdown))
        self._checker = InputChecker(vocabulary)

    @classmethod
    def on(cls, platform: Platform, model: IntentModel) -> AssistService:
        """The assistant over a platform's services."""
        return cls(
            platform.ledger, platform.clock, platform.ids, platform.payments, platform.loans, model,
            cases=platform.cases,
        )  # fmt: skip

    # -- the knowledge base --------------------------------------------------------------------

    def _seed_articles(self) -> None:
        """The packaged articles, for a database that has none yet of their slugs."""
        packaged = packaged_articles()

        def work(unit: LedgerUnit) -> None:
            unit.sql.executemany(
                "INSERT INTO assist_articles (slug, markdown, version, updated_by, updated_at_ns)"
                " VALUES (?, ?, 1, 'package', ?) ON CONFLICT DO NOTHING",
                [(article.slug, article.markdown, unit.now_ns) for article in packaged],
            )

        self._ledger.run(work)

    def articles(self) -> list[Article]:
        rows = self._ledger.store.reader().fetch_all(
            "SELECT slug, markdown, version, updated_by, updated_at_ns FROM assist_articles"
            " ORDER BY slug LIMIT ?",
            (assist_articles_max,),
        )
        return [self._article_from_row(row) for row in rows]

    @staticmethod
    def _article_from_row(row: Sequence[Any]) -> Article:
        article = parse_article(row[0], row[1])
        return replace(article, version=int(row[2]), updated_by=row[3], updated_at_ns=int(row[4]))

    def get_article(self, slug: str) -> Article:
        row = self._ledger.store.reader().fetch_one(
            "SELECT slug, markdown, version, updated_by, updated_at_ns FROM assist_articles"
            " WHERE slug = ?",
            (slug,),
        )
        if row is None:
            raise _not_found("article_not_found", f"no article has the slug {slug!r}")
        return self._article_from_row(row)

    def save_article(
        self, slug: str, markdown: str, actor: str, *, create: bool, version: int | None = None
    ) -> Article:
        """Create an article (`create`: the slug must be new) or replace one's markdown (when
        `version` is given, only if it is still that version)."""
        try:
            parse_article(check_slug(slug), markdown)
        except ArticleError as error:
            raise _invalid(error.code, str(error)) from None

        def work(unit: LedgerUnit) -> None:
            row = unit.sql.fetch_one("SELECT version FROM assist_articles WHERE slug = ?", (slug,))
            if create:
                if row is not None:
                    raise _conflict("article_exists", f"an article has the slug {slug!r}")
                count = unit.sql.fetch_one("SELECT count(*) FROM assist_articles")
                if count is not None and int(count[0]) >= assist_articles_max:
                    raise _conflict("articles_full", "the knowledge base holds no more articles")
                unit.sql.execute(
                    "INSERT INTO assist_articles (slug, markdown, version, updated_by,"
                    " updated_at_ns) VALUES (?, ?, 1, ?, ?)",
                    (slug, markdown, actor, unit.now_ns),
                )
                return
            if row is None:
                raise _not_found("article_not_found", f"no article has the slug {slug!r}")
            if version is not None and int(row[0]) != version:
                raise _conflict(
                    "article_version_mismatch", f"the article is at version {int(row[0])}"
                )
            unit.sql.execute(
                "UPDATE assist_articles SET markdown = ?, version = version + 1, updated_by = ?,"
                " updated_at_ns = ? WHERE slug = ?",
                (markdown, actor, unit.now_ns, slug),
            )

        self._ledger.run(work)
        return self.get_article(slug)

    def knowledge(self) -> KnowledgeIndex:
        """The index of the articles as they are now (rebuilt after an edit)."""
        articles = self.articles()
        key = tuple((article.slug, article.version) for article in articles)
        with self._index_lock:
            if self._index is None or key != self._index_key:
                self._index = KnowledgeIndex(articles, self.model.encoder)
                self._index_key = key
            return self._index

    def retrieve(self, question: str, intent: str | None) -> Retrieved | None:
        return self.knowledge().retrieve(question, intent)

    # -- PINs ----------------------------------------------------------------------------------

    def set_pin(self, party_id: int, pin: str, set_by: str) -> None:
        """Give a customer a PIN (or a new one), stored as an argon2id hash."""
        if not (pin.isascii() and pin.isdigit()) or not (
            assist_pin_length_min <= len(pin) <= assist_pin_length_max
        ):
            raise _invalid(
                "pin_malformed",
                f"a PIN is {assist_pin_length_min} to {assist_pin_length_max} digits",
            )
        if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
            raise _invalid("pin_too_simple", "a PIN may not repeat one digit or be a sequence")
        party = self._party(party_id)
        if party.kind is not PartyKind.customer:
            raise _invalid("party_not_customer", "PINs are for customers")
        pin_hash = hash_password(pin)

        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                "INSERT INTO assist_pins (party_id, pin_hash, set_by, updated_at_ns)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (party_id) DO UPDATE SET"
                " pin_hash = excluded.pin_hash, set_by = excluded.set_by,"
                " updated_at_ns = excluded.updated_at_ns",
                (party_id, pin_hash, set_by, unit.now_ns),
            )

        self._ledger.run(work)

    def _pin_hash(self, party_id: int) -> str | None:
        row = self._ledger.store.reader().fetch_one(
            "SELECT pin_hash FROM assist_pins WHERE party_id = ?", (party_id,)
        )
        return None if row is None else str(row[0])

    def _party(self, party_id: int) -> Any:
        try:
            return self._payments.get_party(party_id)
        except PaymentError as error:
            raise _not_found("party_not_found", error.message) from None

    # -- conversations -------------------------------------------------------------------------

    def start(self, party_id: int | None, channel: str, started_by: str) -> Exchange:
        """Open a conversation, for a known customer or not yet one; the greeting is its first
        message."""
        if party_id is not None:
            self._party(party_id)
        conversation_id = self._ids.next_id()

        def work(unit: LedgerUnit) -> Message:
            unit.sql.execute(
                f"INSERT INTO assist_conversations ({_CONVERSATION_COLUMNS}) VALUES"
                " (?, ?, ?, 'open', 0, 0, 'message', NULL, NULL, 0, 0, ?, ?, ?)",
                (conversation_id, party_id, channel, started_by, unit.now_ns, unit.now_ns),
            )
            return self._write_message(unit, conversation_id, 0, "assistant", replies.GREETING)

        greeting = self._ledger.run(work)
        self._advance_count(conversation_id, 1)
        return Exchange(self.conversation(conversation_id), (greeting,), StepKind.answer, None)

    def _advance_count(self, conversation_id: int, by: int) -> None:
        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                "UPDATE assist_conversations SET messages = messages + ? WHERE id = ?",
                (by, conversation_id),
            )

        self._ledger.run(work)

    def conversation(self, conversation_id: int) -> Conversation:
        row = self._ledger.store.reader().fetch_one(
            f"SELECT {_CONVERSATION_COLUMNS} FROM assist_conversations WHERE id = ?",
            (conversation_id,),
        )
        if row is None:
            raise _not_found(
                "conversation_not_found", f"no conversation has the id {conversation_id}"
            )
        return _conversation_from_row(row)

    def transcript(
        self, conversation_id: int, after_position: int = -1, limit: int = assist_page_max
    ) -> list[Message]:
        self.conversation(conversation_id)
        invariant(0 < limit <= assist_conversation_messages_max, "transcript pages are bounded")
        rows = self._ledger.store.reader().fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM assist_messages"
            " WHERE conversation_id = ? AND position > ? ORDER BY position LIMIT ?",
            (conversation_id, after_position, limit),
        )
        return [_message_from_row(row) for row in rows]

    def close(self, conversation_id: int) -> Conversation:
        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                "UPDATE assist_conversations SET status = 'closed', awaiting = 'message',"
                " pending_action = NULL, pending_subject = NULL, updated_at_ns = ? WHERE id = ?",
                (unit.now_ns, conversation_id),
            )
            unit.sql.execute(
                "UPDATE assist_handoffs SET status = 'resolved',"
                " assignee = COALESCE(assignee, 'customer'), updated_at_ns = ?"
                " WHERE conversation_id = ? AND status <> 'resolved'",
                (unit.now_ns, conversation_id),
            )

        self.conversation(conversation_id)
        self._ledger.run(work)
        return self.conversation(conversation_id)

    def send(self, conversation_id: int, message: object) -> Exchange:
        """The customer says `message` (anything a JSON body can hold); the assistant replies.
        Never raises for what the message says, only for a conversation that cannot take one."""
        with self._locks[conversation_id % _lock_stripes]:
            conversation = self.conversation(conversation_id)
            if conversation.status == "closed":
                raise _conflict("conversation_closed", "the conversation is closed")
            if conversation.messages + 2 > assist_conversation_messages_max:
                raise _conflict(
                    "conversation_full",
                    f"a conversation holds {assist_conversation_messages_max} messages; "
                    "start a new one",
                )
            awaiting_pin = conversation.awaiting is Awaiting.pin
            checked = self._checker.check(message)
            stored = (
                redact(checked.text, awaiting_secret=awaiting_pin)
                if checked.text
                else f"[{checked.kind.value}]"
            )
            if conversation.status == "handed_off":
                outcome = _Outcome(replies.AWAITING_AGENT, conversation, StepKind.hand_off)
            else:
                outcome = self._respond(conversation, checked.kind, checked.text, message)
            return self._record(conversation, stored, outcome)

    def _respond(
        self, conversation: Conversation, kind: InputKind, text: str, raw: object
    ) -> _Outcome:
        pin_hash = None if conversation.party_id is None else self._pin_hash(conversation.party_id)
        state = State(
            identified=conversation.party_id is not None,
            has_pin=pin_hash is not None,
            authenticated=conversation.authenticated,
            pin_failures=conversation.pin_failures,
            awaiting=conversation.awaiting,
            pending_action=conversation.pending_action,
            clarifications=conversation.clarifications,
        )
        prediction: Prediction | None = None
        if kind is InputKind.text and conversation.awaiting is Awaiting.message:
            prediction = self.model.predict([text])[0]
        step = next_step(
            state, CheckedInput(kind, text), raw, prediction, self.confidence_threshold
        )
        if step.kind is StepKind.check_pin:
            invariant(isinstance(raw, str), "only text can be a PIN")
            assert isinstance(raw, str)
            correct = pin_hash is not None and verify_password(pin_hash, raw.strip())
            if correct:
                conversation = replace(conversation, authenticated=True, pin_failures=0)
            else:
                conversation = replace(conversation, pin_failures=conversation.pin_failures + 1)
            step = after_pin(state, correct)
        return self._carry_out(conversation, step, text, prediction)

    def _carry_out(
        self, conversation: Conversation, step: Step, text: str, prediction: Prediction | None
    ) -> _Outcome:
        intent = None if prediction is None else prediction.label
        confidence = None if prediction is None else prediction.confidence
        calm = replace(
            conversation, awaiting=Awaiting.message, pending_action=None, pending_subject=None
        )
        if step.kind is StepKind.fallback:
            invariant(step.input_kind is not None, "a fallback names the input kind")
            assert step.input_kind is not None
            return _Outcome(replies.fallback(step.input_kind), calm, step.kind)
        if step.kind is StepKind.clarify:
            waiting = replace(calm, clarifications=conversation.clarifications + 1)
            return _Outcome(
                replies.clarify(step.options), waiting, step.kind, None, intent, confidence
            )
        if step.kind is StepKind.hand_off:
            invariant(step.reason is not None, "a hand-off has a reason")
            assert step.reason is not None
            handed = replace(calm, status="handed_off")
            return _Outcome(
                replies.hand_off(step.reason), handed, step.kind, step.reason, intent, confidence
            )
        calm = replace(calm, clarifications=0)
        if step.kind is StepKind.answer:
            retrieved = self.retrieve(text, step.intent)
            if retrieved is None:
                return _Outcome(replies.NO_ANSWER, calm, step.kind, None, intent, confidence)
            return _Outcome(
                replies.answer(retrieved),
                calm,
                step.kind,
                None,
                intent,
                confidence,
                retrieved.article.slug,
            )
        if step.kind is StepKind.cancel:
            return _Outcome(replies.CANCELLED, calm, step.kind, None, intent, confidence)
        action = step.action
        invariant(action is not None, "the remaining steps are about an action")
        assert action is not None
        if step.kind is StepKind.ask_pin:
            asking = replace(
                conversation, awaiting=Awaiting.pin, pending_action=action, clarifications=0
            )
            reply = replies.ask_pin(action, conversation.pin_failures, assist_pin_attempts_max)
            return _Outcome(reply, asking, step.kind, None, intent, confidence)
        if step.kind is StepKind.confirm:
            subject = conversation.pending_subject
            label = None
            if action is Action.reverse_transfer:
                subject, label = self._disputable(conversation)
                if subject is None:
                    return _Outcome(replies.NO_TRANSFER, calm, step.kind, None, intent, confidence)
            confirming = replace(
                conversation,
                awaiting=Awaiting.confirmation,
                pending_action=action,
                pending_subject=subject,
                clarifications=0,
            )
            return _Outcome(
                replies.confirm(action, label), confirming, step.kind, None, intent, confidence
            )
        invariant(step.kind is StepKind.perform, "the last step is carrying an action out")
        reply = self._perform(conversation, action)
        return _Outcome(reply, calm, step.kind, None, intent, confidence)

    # -- actions -------------------------------------------------------------------------------

    def _main_wallet(self, party_id: int) -> Any:
        wallets = [w for w in self._payments.wallets_of(party_id) if w.kind in (WalletKind.main,)]
        return wallets[0] if wallets else None

    def _disputable(self, conversation: Conversation) -> tuple[int | None, str | None]:
        """The customer's last completed outgoing payment, and how to name it."""
        invariant(conversation.party_id is not None, "a dispute is about a known customer")
        assert conversation.party_id is not None
        wallet = self._main_wallet(conversation.party_id)
        if wallet is None:
            return None, None
        found = self._payments.search_transactions(
            TransactionSearch(wallet_id=wallet.id, status="completed"),
            None,
            assist_statement_transactions_max,
        )
        for transaction in found:
            if transaction.payer_wallet == wallet.id and transaction.type != "reversal":
                label = (
                    f"your {transaction.type.replace('_', ' ')} of "
                    f"{_money(transaction.amount, transaction.currency)} on "
                    f"{_day(transaction.created_at_ns)} (txn_{transaction.id:016x})"
                )
                return transaction.id, label
        return None, None

    def _perform(self, conversation: Conversation, action: Action) -> str:
        """Carry out an action the customer may take; its reply. Failures of the platform's
        services become a sentence, never an exception."""
        try:
            return self._perform_or_raise(conversation, action)
        except PaymentError as error:
            return f"I could not do that: {error.message}. Say 'agent' to talk to a person."

    def _perform_or_raise(self, conversation: Conversation, action: Action) -> str:
        actor = f"assist:conversation:{conversation.id}"
        if action is Action.agent_locator:
            agents = [
                party
                for party in self._payments.list_parties(PartyKind.agent, 0, assist_page_max)
                if party.status == "active"
            ][:_agents_listed]
            if not agents:
                return "I cannot find an open agent right now. Say 'agent' to talk to a person."
            names = "; ".join(f"{agent.name} (agent number {agent.code})" for agent in agents)
            return f"Hazina agents you can visit: {names}."
        party_id = conversation.party_id
        invariant(party_id is not None and conversation.authenticated, "authenticated first")
        assert party_id is not None
        wallet = self._main_wallet(party_id)
        if action is Action.loan_balance:
            return self._loan_balance(party_id)
        if wallet is None:
            return "You have no wallet I can read. Say 'agent' to talk to a person."
        if action is Action.balance:
            balance = self._payments.balance(wallet.id)
            return (
                f"Your balance is {_money(balance.balance, wallet.currency)}; available to "
                f"spend: {_money(balance.available, wallet.currency)}."
            )
        if action in (Action.statement, Action.send_money_status):
            return self._recent(wallet, action)
        if action is Action.reverse_transfer:
            subject = conversation.pending_subject
            invariant(subject is not None, "a dispute names its payment")
            assert subject is not None
            request = self._payments.request_reversal(
                subject, actor, "customer dispute opened in the assistant"
            )
            case = self._open_dispute_case(wallet.id, subject, request.id, actor)
            opened = "" if case is None else f" and case cas_{case:016x}"
            return (
                f"I have opened a dispute (reversal request rvr_{request.id:016x}{opened}) on "
                f"txn_{subject:016x}. Our staff will review it; you will be told the outcome."
            )
        invariant(action is Action.block_wallet, "every action is handled")
        self._payments.set_party_status(party_id, "frozen", actor)
        return (
            "Your wallet is blocked: nothing can be sent or received. To unblock it, visit an "
            "agent or a Hazina shop with your ID."
        )

    def _open_dispute_case(
        self, wallet_id: int, transaction_id: int, request_id: int, actor: str
    ) -> int | None:
        """A case for the dispute in the case queue, beside the reversal request staff decide."""
        if self._cases is None:
            return None
        payment = self._payments.get_transaction(transaction_id)
        case = self._cases.open_dispute(
            wallet_id,
            EvidenceTransaction(
                payment.id, payment.payer_wallet, payment.payee_wallet, payment.amount,
                payment.currency, payment.created_at_ns,
            ),
            f"Customer disputes txn_{payment.id:016x} in the assistant; reversal request "
            f"rvr_{request_id:016x}.",
            actor,
        )  # fmt: skip
        return case.id

    def _recent(self, wallet: Any, action: Action) -> str:
        found = self._payments.search_transactions(
            TransactionSearch(wallet_id=wallet.id), None, assist_statement_transactions_max
        )
        if action is Action.send_money_status:
            sent = [t for t in found if t.payer_wallet == wallet.id and t.type == "p2p"]
            if not sent:
                return "I cannot find money you sent recently."
            last = sent[0]
            return (
                f"Your last transfer, {_money(last.amount, last.currency)} on "
                f"{_day(last.created_at_ns)} (txn_{last.id:016x}), is {last.status}."
            )
        if not found:
            return "Your wallet has no transactions yet."
        lines = [
            f"{_day(t.created_at_ns)}: {t.type.replace('_', ' ')} "
            f"{'-' if t.payer_wallet == wallet.id else '+'}{_money(t.amount, t.currency)}"
            f" ({t.status})"
            for t in found
        ]
        return "Your last transactions, newest first: " + "; ".join(lines) + "."

    def _loan_balance(self, party_id: int) -> str:
        loans = [loan for loan in self._loans.list_loans(party_id) if loan.status == "active"]
        if not loans:
            return "You have no loan running."
        view = self._loans.view(loans[-1].id)
        loan = view.loan
        return (
            f"You owe {_money(view.balances.outstanding, loan.currency)} on your loan "
            f"(loan_{loan.id:016x}); days past due: {loan.days_past_due}."
        )

    # -- writing -------------------------------------------------------------------------------

    def _write_message(
        self,
        unit: LedgerUnit,
        conversation_id: int,
        position: int,
        role: str,
        body: str,
        intent: str | None = None,
        confidence: float | None = None,
        article: str | None = None,
    ) -> Message:
        message_id = self._ids.next_id()
        confidence_bps = None if confidence is None else round(confidence * 10_000)
        unit.sql.execute(
            f"INSERT INTO assist_messages ({_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message_id,
                conversation_id,
                position,
                role,
                body.replace("\x00", ""),
                intent,
                confidence_bps,
                article,
                unit.now_ns,
            ),
        )
        return Message(
            message_id,
            conversation_id,
            position,
            role,
            body,
            intent,
            None if confidence_bps is None else confidence_bps / 10_000,
            article,
            unit.now_ns,
        )

    def _record(self, before: Conversation, stored: str, outcome: _Outcome) -> Exchange:
        after = outcome.conversation

        def work(unit: LedgerUnit) -> tuple[tuple[Message, ...], HandOff | None]:
            changed = unit.sql.execute(
                "UPDATE assist_conversations SET status = ?, authenticated = ?, pin_failures = ?,"
                " awaiting = ?, pending_action = ?, pending_subject = ?, clarifications = ?,"
                " messages = messages + 2, updated_at_ns = ? WHERE id = ? AND messages = ?",
                (
                    after.status,
                    int(after.authenticated),
                    after.pin_failures,
                    after.awaiting.value,
                    None if after.pending_action is None else after.pending_action.value,
                    after.pending_subject,
                    after.clarifications,
                    unit.now_ns,
                    before.id,
                    before.messages,
                ),
            )
            if changed != 1:
                raise _conflict("conversation_changed", "the conversation changed meanwhile")
            written = (
                self._write_message(
                    unit,
                    before.id,
                    before.messages,
                    "customer",
                    stored,
                    outcome.intent,
                    outcome.confidence,
                ),
                self._write_message(
                    unit,
                    before.id,
                    before.messages + 1,
                    "assistant",
                    outcome.reply,
                    article=outcome.article,
                ),
            )
            hand_off = None
            if outcome.hand_off is not None:
                hand_off_id = self._ids.next_id()
                unit.sql.execute(
                    f"INSERT INTO assist_handoffs ({_HANDOFF_COLUMNS})"
                    " VALUES (?, ?, ?, 'waiting', NULL, ?, ?)",
                    (hand_off_id, before.id, outcome.hand_off.value, unit.now_ns, unit.now_ns),
                )
                hand_off = HandOff(
                    hand_off_id,
                    before.id,
                    outcome.hand_off,
                    "waiting",
                    None,
                    unit.now_ns,
                    unit.now_ns,
                )
            return written, hand_off

        written, hand_off = self._ledger.run(work)
        return Exchange(self.conversation(before.id), written, outcome.step, hand_off)

    # -- the hand-off queue --------------------------------------------------------------------

    def handoffs(
        self, status: str | None = None, after_id: int = 0, limit: int = assist_page_max
    ) -> list[HandOff]:
        """The queue, oldest first; `status` waiting, claimed or resolved (None: all)."""
        invariant(0 < limit <= assist_page_max + 1, "hand-off pages are bounded (and one more)")
        where, parameters = "WHERE id > ?", list[object]([after_id])
        if status is not None:
            where += " AND status = ?"
            parameters.append(status)
        rows = self._ledger.store.reader().fetch_all(
            f"SELECT {_HANDOFF_COLUMNS} FROM assist_handoffs {where} ORDER BY id LIMIT ?",
            (*parameters, limit),
        )
        return [_handoff_from_row(row) for row in rows]

    def handoff(self, handoff_id: int) -> HandOff:
        row = self._ledger.store.reader().fetch_one(
            f"SELECT {_HANDOFF_COLUMNS} FROM assist_handoffs WHERE id = ?", (handoff_id,)
        )
        if row is None:
            raise _not_found("handoff_not_found", f"no hand-off has the id {handoff_id}")
        return _handoff_from_row(row)

    def claim(self, handoff_id: int, assignee: str) -> HandOff:
        """A person takes the conversation."""
        return self._move_handoff(handoff_id, "claimed", assignee, ("waiting", "claimed"))

    def resolve(self, handoff_id: int, actor: str) -> HandOff:
        """The person is done: the conversation is closed."""
        handoff = self._move_handoff(handoff_id, "resolved", actor, ("waiting", "claimed"))
        self.close(handoff.conversation_id)
        return self.handoff(handoff_id)

    def _move_handoff(
        self, handoff_id: int, status: str, actor: str, allowed_from: tuple[str, ...]
    ) -> HandOff:
        if not actor.strip():
            raise _invalid("actor_required", "say who takes the hand-off")

        def work(unit: LedgerUnit) -> None:
            row = unit.sql.fetch_one(
                "SELECT status FROM assist_handoffs WHERE id = ?", (handoff_id,)
            )
            if row is None:
                raise _not_found("handoff_not_found", f"no hand-off has the id {handoff_id}")
            if row[0] not in allowed_from:
                raise _conflict("handoff_resolved", f"the hand-off is {row[0]}")
            unit.sql.execute(
                "UPDATE assist_handoffs SET status = ?, assignee = ?, updated_at_ns = ?"
                " WHERE id = ?",
                (status, actor, unit.now_ns, handoff_id),
            )

        self._ledger.run(work)
        return self.handoff(handoff_id)

    def reply_as_agent(self, conversation_id: int, text: str, actor: str) -> Message:
        """A person answers in a handed-off conversation."""
        body = " ".join(text.split())
        if not body:
            raise _invalid("reply_empty", "a reply needs some text")
        with self._locks[conversation_id % _lock_stripes]:
            conversation = self.conversation(conversation_id)
            if conversation.status != "handed_off":
                raise _conflict("conversation_not_handed_off", "the assistant has this one")
            if conversation.messages + 1 > assist_conversation_messages_max:
                raise _conflict("conversation_full", "the conversation holds no more messages")

            def work(unit: LedgerUnit) -> Message:
                unit.sql.execute(
                    "UPDATE assist_conversations SET messages = messages + 1, updated_at_ns = ?"
                    " WHERE id = ?",
                    (unit.now_ns, conversation_id),
                )
                return self._write_message(
                    unit, conversation_id, conversation.messages, "agent", f"{actor}: {body}"
                )

            return self._ledger.run(work)
