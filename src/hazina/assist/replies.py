"""The assistant's words. Pure: each function renders one kind of reply from plain values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from hazina.assist.dialogue import HandOffReason
from hazina.assist.intents import Action, describe
from hazina.assist.knowledge import Retrieved
from hazina.assist.text import InputKind
from hazina.kernel.limits import assist_message_length_max

GREETING: Final = (
    "Hello, I am Hazina's assistant. Ask me about your wallet, payments, fees or loans; "
    "say 'agent' at any time to talk to a person."
)

_fallbacks: Final = {
    InputKind.empty: "I did not receive any text. What can I help you with?",
    InputKind.too_long: (
        f"That message is too long for me (more than {assist_message_length_max} characters). "
        "Could you ask your question in a sentence or two?"
    ),
    InputKind.not_text: (
        "Sorry, I can only read text messages. What can I help you with? "
        "Say 'agent' to talk to a person."
    ),
    InputKind.other_language: (
        "Sorry, I can only help in English for now. Say 'agent' and a colleague will help you "
        "in your language."
    ),
}

_hand_off: Final = {
    HandOffReason.customer_asked: "I am passing you to a colleague now.",
    HandOffReason.low_confidence: (
        "I am not sure I understood, so I am passing you to a colleague."
    ),
    HandOffReason.pin_attempts: (
        "That PIN was wrong too many times, so I have stopped and passed this conversation "
        "to a colleague, who will check your identity."
    ),
    HandOffReason.not_identified: (
        "I need to know who you are before I can do that, and I cannot check it here, "
        "so I am passing you to a colleague."
    ),
    HandOffReason.unsupported_input: "I am passing you to a colleague.",
}

_confirmations: Final = {
    Action.block_wallet: (
        "Do you want me to block your wallet now? Nothing can be sent or received until our "
        "staff unblock it. Reply 'yes' to block it or 'no' to cancel."
    ),
}


def fallback(kind: InputKind) -> str:
    return _fallbacks.get(kind, _fallbacks[InputKind.not_text])


def clarify(options: Sequence[str]) -> str:
    named = " or ".join(f"'{describe(option)}'" for option in options)
    return f"I am not sure I understood. Is your question about {named}? Please say a bit more."


def hand_off(reason: HandOffReason) -> str:
    return f"{_hand_off[reason]} They will see this conversation and reply here."


def answer(retrieved: Retrieved) -> str:
    return f'From our article "{retrieved.article.title}": {retrieved.quote}'


NO_ANSWER: Final = (
    "I could not find an article that answers that. Could you say it another way, or say "
    "'agent' to talk to a person?"
)


def ask_pin(action: Action, failures: int, attempts_max: int) -> str:
    if failures == 0:
        return (
            f"To {describe(action.value)} I need to check it is you. Please type your Hazina PIN "
            "(I will not show or store it), or 'cancel'."
        )
    left = attempts_max - failures
    return f"That PIN is not right. You have {left} more {'try' if left == 1 else 'tries'}."


def confirm(action: Action, subject: str | None) -> str:
    if action is Action.reverse_transfer:
        if subject is None:
            return NO_TRANSFER
        return (
            f"Do you want me to open a dispute on {subject}? Our staff will review it and reverse "
            "it if it was a mistake; nothing moves until they approve. Reply 'yes' or 'no'."
        )
    return _confirmations[action]


NO_TRANSFER: Final = "I cannot find a payment you sent that can be disputed."
CANCELLED: Final = "All right, I have not done anything. What else can I help you with?"
AWAITING_AGENT: Final = "A colleague has this conversation and will reply here."
