"""Input checks: every kind of message is sorted, and secrets never survive redaction."""

from __future__ import annotations

import pytest

from hazina.assist.text import MASK, WITHHELD, InputChecker, InputKind, looks_like_pin, redact
from hazina.kernel.limits import assist_message_length_max

CHECKER = InputChecker(["what", "is", "my", "balance", "send", "money", "to", "the", "wrong"])


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (None, InputKind.not_text),
        (12, InputKind.not_text),
        ({"text": "hi"}, InputKind.not_text),
        (["balance"], InputKind.not_text),
        (b"balance", InputKind.not_text),
        ("", InputKind.empty),
        ("   \n\t ", InputKind.empty),
        ("\x00\x01\x02", InputKind.not_text),
        ("?!... ***", InputKind.not_text),
        ("x" * (assist_message_length_max + 1), InputKind.too_long),
        (
            "\u041f\u0440\u0438\u0432\u0435\u0442, \u0431\u0430\u043b\u0430\u043d\u0441",
            InputKind.other_language,
        ),
        ("我的余额是多少", InputKind.other_language),
        ("habari yako nataka kuangalia salio", InputKind.other_language),
        ("what is my balance", InputKind.text),
        ("WHAT is my balanse?", InputKind.text),  # one unknown word in four is fine
        ("balance", InputKind.text),
        ("x" * assist_message_length_max, InputKind.text),
    ],
)
def test_messages_are_sorted_by_kind(message: object, kind: InputKind) -> None:
    assert CHECKER.check(message).kind is kind


def test_text_is_normalised_and_stripped_of_control_characters() -> None:
    checked = CHECKER.check(
        "  what\x00 is\u200b my   \uff42\uff41\uff4c\uff41\uff4e\uff43\uff45 \n"
    )
    assert checked.kind is InputKind.text
    assert checked.text == "what is my balance"


@pytest.mark.parametrize(
    ("text", "awaiting", "stored"),
    [
        ("4821", True, WITHHELD),
        ("my pin is 4821", True, WITHHELD),
        ("4821", False, WITHHELD),
        ("my PIN is 4821, block the wallet", False, f"my PIN is {MASK}, block the wallet"),
        ("the otp code 48 21 90", False, f"the otp code {MASK}"),
        ("I sent 1500 to my brother", False, "I sent 1500 to my brother"),
    ],
)
def test_secrets_are_withheld(text: str, awaiting: bool, stored: str) -> None:
    assert redact(text, awaiting_secret=awaiting) == stored


def test_pin_shape() -> None:
    assert looks_like_pin(" 4821 ")
    assert looks_like_pin("482193")
    assert not looks_like_pin("482")
    assert not looks_like_pin("4821937")
    assert not looks_like_pin("48a1")
