"""The assistant over a whole platform, on SQLite and PostgreSQL: PIN-checked actions through
the payments and loans services, explicit confirmation before anything changes, the hand-off
queue with its transcript, knowledge-base edits, and PINs that never reach a transcript or a
log."""

from __future__ import annotations

import logging

import pytest

from hazina.assist.dialogue import Awaiting, HandOffReason, StepKind
from hazina.assist.model import IntentModel
from hazina.assist.service import AssistError, AssistService
from hazina.assist.text import WITHHELD
from hazina.assist.training import starter_model
from hazina.bootstrap import Platform
from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import assist_pin_attempts_max
from hazina.risk.aml.cases import dispute_scenario
from tests.integration.platform_world import Parties, clock, database, platform

__all__ = ["clock", "database", "platform"]

PIN = "4821"


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return starter_model()


class Chat:
    """One customer's conversation."""

    def __init__(self, service: AssistService, party: int | None) -> None:
        self.service = service
        self.id = service.start(party, "api", "tests").conversation.id

    def say(self, message: object) -> tuple[StepKind, str]:
        exchange = self.service.send(self.id, message)
        return exchange.step, exchange.messages[-1].body

    def transcript(self) -> str:
        return "\n".join(m.body for m in self.service.transcript(self.id))


@pytest.fixture
def world(platform: Platform, model: IntentModel) -> tuple[AssistService, Parties, int]:
    parties = Parties(platform)
    agent = parties.agent("AG001", 10_000_000)
    alice = parties.customer("Alice")
    bob = parties.customer("Bob")
    parties.fund(agent, alice, 500_000, 500_000)
    parties.send(alice, bob, 12_345)
    service = AssistService.on(platform, model)
    alice_party = platform.payments.get_wallet(alice).party_id
    service.set_pin(alice_party, PIN, "tests")
    return service, parties, alice_party


def test_balance_after_the_pin_and_no_pin_in_the_transcript_or_logs(
    world: tuple[AssistService, Parties, int],
    platform: Platform,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, _, alice = world
    wallet = platform.payments.wallet_of(alice, "KES").id
    balance = platform.payments.balance(wallet).balance
    assert 0 < balance < 500_000 - 12_345  # 5,000.00 cashed in, 123.45 sent and its fee
    caplog.set_level(logging.DEBUG)
    chat = Chat(service, alice)
    step, reply = chat.say("what is my balance")
    assert step is StepKind.ask_pin
    assert service.conversation(chat.id).awaiting is Awaiting.pin
    step, reply = chat.say(PIN)
    assert step is StepKind.perform
    assert f"Your balance is {balance // 100}.{balance % 100:02d} KES" in reply
    assert service.conversation(chat.id).authenticated
    step, reply = chat.say("show my last transactions")
    assert step is StepKind.perform
    assert "p2p -123.45 KES" in reply
    transcript = chat.transcript()
    assert WITHHELD in transcript
    assert PIN not in transcript
    assert PIN not in caplog.text


def test_wrong_pins_hand_the_conversation_to_a_person(
    world: tuple[AssistService, Parties, int],
) -> None:
    service, _, alice = world
    chat = Chat(service, alice)
    chat.say("check my balance")
    for attempt in range(assist_pin_attempts_max):
        step, reply = chat.say("1111")
        if attempt < assist_pin_attempts_max - 1:
            assert step is StepKind.ask_pin
            assert "not right" in reply
    assert step is StepKind.hand_off
    conversation = service.conversation(chat.id)
    assert conversation.status == "handed_off"
    assert not conversation.authenticated
    [waiting] = service.handoffs("waiting")
    assert waiting.reason is HandOffReason.pin_attempts
    assert waiting.conversation_id == chat.id
    assert "1111" not in chat.transcript()
    # The person takes it, answers, and resolves it; the conversation closes.
    service.claim(waiting.id, "operator:wanjiru")
    agent_message = service.reply_as_agent(chat.id, "Hello, I can help.", "operator:wanjiru")
    assert agent_message.role == "agent"
    assert service.resolve(waiting.id, "operator:wanjiru").status == "resolved"
    assert service.conversation(chat.id).status == "closed"
    with pytest.raises(AssistError) as raised:
        chat.say("hello?")
    assert raised.value.code == "conversation_closed"


def test_blocking_waits_for_an_explicit_yes(
    world: tuple[AssistService, Parties, int], platform: Platform
) -> None:
    service, _, alice = world
    chat = Chat(service, alice)
    chat.say("block my wallet")
    step, reply = chat.say(PIN)
    assert step is StepKind.confirm
    assert platform.payments.get_party(alice).status == "active"
    step, reply = chat.say("no")
    assert step is StepKind.cancel
    assert platform.payments.get_party(alice).status == "active"
    chat.say("freeze my account")
    step, _ = chat.say("maybe later")
    assert step is StepKind.confirm  # anything but yes or no asks again
    assert platform.payments.get_party(alice).status == "active"
    step, reply = chat.say("yes")
    assert step is StepKind.perform
    assert "blocked" in reply
    assert platform.payments.get_party(alice).status == "frozen"


def test_a_dispute_opens_a_case_and_a_reversal_request_and_moves_no_money(
    world: tuple[AssistService, Parties, int], platform: Platform
) -> None:
    service, _, alice = world
    wallet = platform.payments.wallet_of(alice, "KES").id
    before = platform.payments.balance(wallet).balance
    chat = Chat(service, alice)
    chat.say("I sent money to the wrong number")
    step, reply = chat.say(PIN)
    assert step is StepKind.confirm
    assert "123.45 KES" in reply
    step, reply = chat.say("yes")
    assert step is StepKind.perform
    [request] = platform.payments.list_reversal_requests("requested", 0, 10)
    assert request.requested_by == f"assist:conversation:{chat.id}"
    assert f"rvr_{request.id:016x}" in reply
    assert platform.payments.balance(wallet).balance == before
    # A case in the case queue, about the disputed payment, worked like any other.
    [case] = [c for c in platform.cases.list_cases() if dispute_scenario in c.scenarios]
    assert f"cas_{case.id:016x}" in reply
    assert case.subject_account == wallet
    assert case.status.value == "open"
    assert f"rvr_{request.id:016x}" in case.summary
    detail = platform.cases.detail(case.id)
    assert [item.transaction_id for item in detail.evidence.transactions] == [
        request.transaction_id
    ]


def test_customers_not_identified_go_to_a_person_and_agents_need_no_pin(
    world: tuple[AssistService, Parties, int],
) -> None:
    service, _, _ = world
    chat = Chat(service, None)
    step, reply = chat.say("where is the nearest agent")
    assert step is StepKind.perform
    assert "AG001" in reply
    step, _ = chat.say("what is my balance")
    assert step is StepKind.hand_off
    assert service.handoffs()[-1].reason is HandOffReason.not_identified
    step, reply = chat.say("hello?")
    assert step is StepKind.hand_off
    assert "colleague" in reply


@pytest.mark.parametrize(
    "message",
    ["", "   ", None, 42, ["a"], {"a": 1}, "x" * 5_000, "\x00\x00", "Habari gani rafiki yangu"],
)
def test_bad_input_gets_a_polite_fallback(
    world: tuple[AssistService, Parties, int], message: object
) -> None:
    service, _, alice = world
    chat = Chat(service, alice)
    step, reply = chat.say(message)
    assert step is StepKind.fallback
    assert reply.startswith(("Sorry", "I did not", "That message"))
    assert "\x00" not in chat.transcript()


def test_articles_are_edited_and_answers_quote_them(
    world: tuple[AssistService, Parties, int], clock: FixedClock
) -> None:
    service, _, _ = world
    article = service.get_article("fees")
    assert article.version == 1
    markdown = article.markdown.replace("Depositing cash at an agent (cash-in) is free.", "")
    markdown += "\n\nFrom 1 March, cash-in costs a flat fee of 10.00 KES per deposit.\n"
    updated = service.save_article("fees", markdown, "operator:amina", create=False, version=1)
    assert updated.version == 2
    with pytest.raises(AssistError) as raised:
        service.save_article("fees", markdown, "operator:amina", create=False, version=1)
    assert raised.value.code == "article_version_mismatch"
    with pytest.raises(AssistError) as raised:
        service.save_article("fees", markdown, "operator:amina", create=True)
    assert raised.value.code == "article_exists"
    with pytest.raises(AssistError) as raised:
        service.save_article("new", "no title", "operator:amina", create=True)
    assert raised.value.code == "article_title_missing"
    retrieved = service.retrieve("what is the cash-in fee per deposit", "transfer_fee_charged")
    assert retrieved is not None
    assert "flat fee of 10.00 KES" in retrieved.quote
    created = service.save_article(
        "ussd",
        "# USSD menu\n\nDial *334# to use Hazina without data.",
        "operator:amina",
        create=True,
    )
    assert created.title == "USSD menu"
    found = service.retrieve("which number do I dial for the USSD menu", None)
    assert found is not None
    assert found.article.slug == "ussd"


def test_pins_are_checked_for_shape_and_customers_only(
    world: tuple[AssistService, Parties, int], platform: Platform
) -> None:
    service, _, alice = world
    for pin, code in [
        ("12", "pin_malformed"),
        ("abcd", "pin_malformed"),
        ("1111", "pin_too_simple"),
    ]:
        with pytest.raises(AssistError) as raised:
            service.set_pin(alice, pin, "tests")
        assert raised.value.code == code
    agent = platform.payments.find_party(code="AG001").id
    with pytest.raises(AssistError) as raised:
        service.set_pin(agent, "4821", "tests")
    assert raised.value.code == "party_not_customer"
    stored = platform.ledger.store.reader().fetch_one(
        "SELECT pin_hash FROM assist_pins WHERE party_id = ?", (alice,)
    )
    assert stored is not None
    assert stored[0].startswith("$argon2id$")
    assert PIN not in stored[0]


def test_unsure_twice_asks_once_then_hands_off(
    world: tuple[AssistService, Parties, int],
) -> None:
    service, _, alice = world
    chat = Chat(service, alice)
    step, reply = chat.say("zzq blorp")
    assert step is StepKind.clarify
    assert reply.startswith("I am not sure I understood. Is your question about")
    step, _ = chat.say("zzq blorp")
    assert step is StepKind.hand_off
    assert service.handoffs("waiting")[-1].reason is HandOffReason.low_confidence
    # A confident question after a clarification starts the count again.
    again = Chat(service, alice)
    again.say("zzq blorp")
    step, _ = again.say("where is the nearest agent")
    assert step is StepKind.perform
    step, _ = again.say("zzq blorp")
    assert step is StepKind.clarify
