"""The dialogue's decisions, pure: from the conversation's state and what the customer said,
the next step. The service carries steps out; nothing here reads a clock, a store or a model.

The order of precedence: a conversation waiting for a PIN reads the message as one (and
nothing else); one waiting for a yes or no takes it; input that is not a question in the
model's language gets a fallback; then the intent, when the model is confident enough.
Below the confidence threshold the assistant asks once which of its best guesses was meant,
and hands the conversation to a person the next time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from hazina.assist.intents import AUTHENTICATED_ACTIONS, CONFIRMED_ACTIONS, Action, action_of
from hazina.assist.model import Prediction
from hazina.assist.text import CheckedInput, InputKind, looks_like_pin
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import assist_clarifications_max, assist_pin_attempts_max

_yes: Final = re.compile(r"^\s*(yes|y|yeah|yep|ok|okay|confirm|sure|go ahead|do it)\W*$", re.I)
_no: Final = re.compile(r"^\s*(no|n|nope|cancel|stop|don't|do not|never mind)\W*$", re.I)


class Awaiting(StrEnum):
    message = "message"
    pin = "pin"
    confirmation = "confirmation"


class HandOffReason(StrEnum):
    customer_asked = "customer_asked"
    low_confidence = "low_confidence"
    pin_attempts = "pin_attempts"
    not_identified = "not_identified"
    unsupported_input = "unsupported_input"


@dataclass(frozen=True, slots=True)
class State:
    identified: bool  # the conversation names a customer
    has_pin: bool  # that customer has a PIN to check
    authenticated: bool
    pin_failures: int
    awaiting: Awaiting
    pending_action: Action | None
    clarifications: int


class StepKind(StrEnum):
    fallback = "fallback"  # polite answer to input the model cannot read
    clarify = "clarify"  # ask which of the best guesses was meant
    hand_off = "hand_off"
    answer = "answer"  # from the knowledge base
    ask_pin = "ask_pin"
    check_pin = "check_pin"
    confirm = "confirm"  # ask for an explicit yes before acting
    perform = "perform"
    cancel = "cancel"


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    action: Action | None = None
    intent: str | None = None
    input_kind: InputKind | None = None
    reason: HandOffReason | None = None
    options: tuple[str, ...] = ()


def is_yes(text: str) -> bool:
    return _yes.match(text) is not None


def is_no(text: str) -> bool:
    return _no.match(text) is not None


def after_pin(state: State, correct: bool) -> Step:
    """What follows a PIN check: the pending action (or its confirmation), another try, or a
    person after too many wrong ones."""
    invariant(state.awaiting is Awaiting.pin, "a PIN is checked only when one was asked for")
    invariant(state.pending_action is not None, "a PIN is asked for an action")
    if not correct:
        if state.pin_failures + 1 >= assist_pin_attempts_max:
            return Step(StepKind.hand_off, reason=HandOffReason.pin_attempts)
        return Step(StepKind.ask_pin, action=state.pending_action)
    if state.pending_action in CONFIRMED_ACTIONS:
        return Step(StepKind.confirm, action=state.pending_action)
    return Step(StepKind.perform, action=state.pending_action)


def next_step(
    state: State,
    message: CheckedInput,
    raw: object,
    prediction: Prediction | None,
    threshold: float,
) -> Step:
    """The step for one customer message. `prediction` is the model's reading of
    `message.text` (None when the message is not text the model can read)."""
    invariant(0.0 < threshold < 1.0, "the confidence threshold is a probability")
    if state.awaiting is Awaiting.pin:
        invariant(state.pending_action is not None, "a PIN is asked for an action")
        if isinstance(raw, str) and is_no(raw):
            return Step(StepKind.cancel, action=state.pending_action)
        if isinstance(raw, str) and looks_like_pin(raw):
            return Step(StepKind.check_pin, action=state.pending_action)
        return Step(StepKind.ask_pin, action=state.pending_action)
    if state.awaiting is Awaiting.confirmation:
        invariant(state.pending_action is not None, "a confirmation is asked for an action")
        if message.kind is InputKind.text and is_yes(message.text):
            return Step(StepKind.perform, action=state.pending_action)
        if message.kind is InputKind.text and is_no(message.text):
            return Step(StepKind.cancel, action=state.pending_action)
        return Step(StepKind.confirm, action=state.pending_action)
    if message.kind is not InputKind.text or prediction is None:
        return Step(StepKind.fallback, input_kind=message.kind)
    if prediction.confidence < threshold:
        if state.clarifications >= assist_clarifications_max:
            return Step(StepKind.hand_off, reason=HandOffReason.low_confidence)
        options = (prediction.label, *(label for label, _ in prediction.alternatives[:1]))
        return Step(StepKind.clarify, options=options)
    action = action_of(prediction.label)
    if action is None:
        return Step(StepKind.answer, intent=prediction.label)
    if action is Action.human_agent:
        return Step(StepKind.hand_off, reason=HandOffReason.customer_asked)
    if action in AUTHENTICATED_ACTIONS and not state.authenticated:
        if not state.identified or not state.has_pin:
            return Step(StepKind.hand_off, action=action, reason=HandOffReason.not_identified)
        return Step(StepKind.ask_pin, action=action)
    if action in CONFIRMED_ACTIONS:
        return Step(StepKind.confirm, action=action)
    return Step(StepKind.perform, action=action)
