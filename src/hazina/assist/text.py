"""What a customer typed, checked before anything reads it, and what may be kept of it.

A message is text of bounded length, in a language the model was trained on; anything else
gets a polite fallback instead of a guess. Secrets never reach the transcript: a message sent
while the assistant waits for a PIN is withheld whole, and digit runs that sit next to the
words PIN, OTP, code or password are masked in any other message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import assist_message_length_max

WITHHELD: Final = "[withheld: PIN]"
MASK: Final = "[digits withheld]"

_word = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_secret_words = re.compile(r"\b(pin|otp|code|password|passcode)\b", re.IGNORECASE)
_digit_run = re.compile(r"\d(?:[\s-]?\d){3,11}")
_pin_shape = re.compile(r"\d{4,6}")
# Latin letters only: a message in another script is in a language the model never saw.
_latin_letter = re.compile(r"[A-Za-z\u00c0-\u024f]")
_other_letter = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]", re.UNICODE)
_known_share_min: Final = 0.34  # of a message's words found in the training vocabulary


class InputKind(StrEnum):
    text = "text"
    empty = "empty"
    too_long = "too_long"
    not_text = "not_text"
    other_language = "other_language"


@dataclass(frozen=True, slots=True)
class CheckedInput:
    kind: InputKind
    text: str  # normalised (NFKC, control characters dropped, spaces collapsed); may be ""


def _printable(text: str) -> str:
    kept = (
        " " if character.isspace() else character
        for character in text
        if character.isspace() or unicodedata.category(character)[0] != "C"
    )
    return " ".join("".join(kept).split())


def words_of(text: str) -> list[str]:
    return [word.lower() for word in _word.findall(text)]


class InputChecker:
    """Sorts incoming messages; `vocabulary` is the words of the training texts."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._vocabulary = frozenset(word.lower() for word in vocabulary)
        invariant(len(self._vocabulary) > 0, "the language check needs a vocabulary")

    def check(self, message: object) -> CheckedInput:
        if not isinstance(message, str):
            return CheckedInput(InputKind.not_text, "")
        if len(message) > assist_message_length_max:
            return CheckedInput(InputKind.too_long, "")
        text = _printable(unicodedata.normalize("NFKC", message))
        if not text:
            kind = InputKind.empty if not message.strip() else InputKind.not_text
            return CheckedInput(kind, "")
        if not any(character.isalnum() for character in text):
            return CheckedInput(InputKind.not_text, text)
        latin = len(_latin_letter.findall(text))
        other = len(_other_letter.findall(text))
        if other > latin:
            return CheckedInput(InputKind.other_language, text)
        words = words_of(text)
        if len(words) >= 3:
            known = sum(1 for word in words if word in self._vocabulary)
            if known / len(words) < _known_share_min:
                return CheckedInput(InputKind.other_language, text)
        return CheckedInput(InputKind.text, text)


def looks_like_pin(text: str) -> bool:
    """A message that is nothing but a PIN-shaped run of digits."""
    return _pin_shape.fullmatch(text.strip()) is not None


def redact(text: str, *, awaiting_secret: bool) -> str:
    """What of a customer's message may be stored or shown again."""
    if awaiting_secret or looks_like_pin(text):
        return WITHHELD
    if _secret_words.search(text):
        return _digit_run.sub(MASK, text)
    return text
