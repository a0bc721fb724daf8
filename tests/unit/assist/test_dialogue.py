"""The dialogue's decisions, one row per rule in precedence order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hazina.assist.dialogue import (
    Awaiting,
    HandOffReason,
    State,
    Step,
    StepKind,
    after_pin,
    next_step,
)
from hazina.assist.intents import Action, hazina_label
from hazina.assist.model import Prediction
from hazina.assist.text import CheckedInput, InputKind
from hazina.kernel.limits import assist_pin_attempts_max

THRESHOLD = 0.5
FRESH = State(
    identified=True,
    has_pin=True,
    authenticated=False,
    pin_failures=0,
    awaiting=Awaiting.message,
    pending_action=None,
    clarifications=0,
)
WAITING_PIN = replace(FRESH, awaiting=Awaiting.pin, pending_action=Action.balance)
CONFIRMING = replace(
    FRESH, authenticated=True, awaiting=Awaiting.confirmation, pending_action=Action.block_wallet
)


def text(words: str) -> CheckedInput:
    return CheckedInput(InputKind.text, words)


def sure(label: str) -> Prediction:
    return Prediction(label, 0.9, (("card_arrival", 0.05),))


def unsure(label: str) -> Prediction:
    return Prediction(label, 0.3, (("card_arrival", 0.2),))


BALANCE = hazina_label(Action.balance)
BLOCK = hazina_label(Action.block_wallet)


@pytest.mark.parametrize(
    ("state", "message", "raw", "prediction", "expected"),
    [
        # Waiting for a PIN, a message is a PIN, a cancellation or a new request for one.
        (WAITING_PIN, text("4821"), "4821", None, Step(StepKind.check_pin, Action.balance)),
        (WAITING_PIN, text("no"), "no", None, Step(StepKind.cancel, Action.balance)),
        (WAITING_PIN, text("what"), "what", None, Step(StepKind.ask_pin, Action.balance)),
        # Waiting for a yes: only yes acts, no cancels, anything else asks again.
        (CONFIRMING, text("yes"), "yes", None, Step(StepKind.perform, Action.block_wallet)),
        (CONFIRMING, text("No."), "No.", None, Step(StepKind.cancel, Action.block_wallet)),
        (CONFIRMING, text("hmm"), "hmm", None, Step(StepKind.confirm, Action.block_wallet)),
        (
            CONFIRMING,
            CheckedInput(InputKind.empty, ""),
            "",
            None,
            Step(StepKind.confirm, Action.block_wallet),
        ),
        # Input the model cannot read.
        (
            FRESH,
            CheckedInput(InputKind.other_language, "habari"),
            "habari",
            None,
            Step(StepKind.fallback, input_kind=InputKind.other_language),
        ),
        # Below the threshold: a clarifying question, then a person.
        (
            FRESH,
            text("hm"),
            "hm",
            unsure(BALANCE),
            Step(StepKind.clarify, options=(BALANCE, "card_arrival")),
        ),
        (
            replace(FRESH, clarifications=1),
            text("hm"),
            "hm",
            unsure(BALANCE),
            Step(StepKind.hand_off, reason=HandOffReason.low_confidence),
        ),
        # Confident: answers, hand-off on request, PIN before actions, yes before changes.
        (FRESH, text("q"), "q", sure("card_arrival"), Step(StepKind.answer, intent="card_arrival")),
        (
            FRESH,
            text("q"),
            "q",
            sure(hazina_label(Action.human_agent)),
            Step(StepKind.hand_off, reason=HandOffReason.customer_asked),
        ),
        (
            replace(FRESH, identified=False),
            text("q"),
            "q",
            sure(BALANCE),
            Step(StepKind.hand_off, Action.balance, reason=HandOffReason.not_identified),
        ),
        (
            replace(FRESH, has_pin=False),
            text("q"),
            "q",
            sure(BALANCE),
            Step(StepKind.hand_off, Action.balance, reason=HandOffReason.not_identified),
        ),
        (FRESH, text("q"), "q", sure(BALANCE), Step(StepKind.ask_pin, Action.balance)),
        (
            replace(FRESH, authenticated=True),
            text("q"),
            "q",
            sure(BALANCE),
            Step(StepKind.perform, Action.balance),
        ),
        (
            replace(FRESH, authenticated=True),
            text("q"),
            "q",
            sure(BLOCK),
            Step(StepKind.confirm, Action.block_wallet),
        ),
        (
            replace(FRESH, identified=False),
            text("q"),
            "q",
            sure(hazina_label(Action.agent_locator)),
            Step(StepKind.perform, Action.agent_locator),
        ),
    ],
)
def test_next_step(
    state: State, message: CheckedInput, raw: object, prediction: Prediction | None, expected: Step
) -> None:
    assert next_step(state, message, raw, prediction, THRESHOLD) == expected


def test_after_a_pin() -> None:
    assert after_pin(WAITING_PIN, correct=True) == Step(StepKind.perform, Action.balance)
    blocking = replace(WAITING_PIN, pending_action=Action.block_wallet)
    assert after_pin(blocking, correct=True) == Step(StepKind.confirm, Action.block_wallet)
    assert after_pin(WAITING_PIN, correct=False) == Step(StepKind.ask_pin, Action.balance)
    last_try = replace(WAITING_PIN, pin_failures=assist_pin_attempts_max - 1)
    assert after_pin(last_try, correct=False) == Step(
        StepKind.hand_off, reason=HandOffReason.pin_attempts
    )
