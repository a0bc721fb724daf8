"""Offline payments: signed tokens loaded to a device, passed device to device as signed,
chained messages, and checked when they come back online.

A `Token` is issued by the central bank's issuer key when value is loaded to a device: its id,
amount, the device's public key (its first owner) and an expiry, signed with Ed25519. Paying
offline appends a `Hop` to each token handed over: the token id, the hop's index, the digest of
what it extends (the token or the hop before), the payee's public key and the payer's counter
of outgoing hops, signed by the token's current owner. A `Note` is a token with its hops: who
holds it is the last hop's payee (or the first owner). Anyone can verify a note with the
issuer's public key alone, so devices check what they receive without connectivity.

What this cannot stop offline is an owner signing two different hops for the same token (a
cloned device). Both notes verify; they meet at redemption, where `first_divergence` finds the
hop index at which they part and the owner who signed both, which is proof of the double
spend (two valid signatures by one key over two different payees). See docs/cbdc.md for the
threat model.

Pure: no clock, randomness, disk or network (keys and times are passed in).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import cbdc_offline_hops_max, ledger_amount_max

_TOKEN_TAG = b"hazina-cbdc-token-v1"
_HOP_TAG = b"hazina-cbdc-hop-v1"
_token_layout = struct.Struct(">QQ32sQ")
_hop_layout = struct.Struct(">QI32s32sQ")
KEY_BYTES = 32
SIGNATURE_BYTES = 64
_u64_max = 2**64 - 1


class OfflineError(ValueError):
    """A note or message that must not be accepted; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Token:
    token_id: int
    amount: int  # minor units
    owner: bytes  # the Ed25519 public key of the device it was loaded to
    expires_at_s: int  # Unix seconds; devices refuse to take it after this
    signature: bytes  # the issuer's, over `payload()`

    def payload(self) -> bytes:
        return _TOKEN_TAG + _token_layout.pack(
            self.token_id, self.amount, self.owner, self.expires_at_s
        )

    def digest(self) -> bytes:
        return hashlib.sha256(self.payload() + self.signature).digest()


@dataclass(frozen=True, slots=True)
class Hop:
    token_id: int
    index: int  # 1 for the token's first transfer
    previous: bytes  # digest of the token (index 1) or of the hop before
    to: bytes  # the payee's public key
    counter: int  # the payer device's count of hops it has signed, rising
    signature: bytes  # by the owner the token had before this hop

    def payload(self) -> bytes:
        return _HOP_TAG + _hop_layout.pack(
            self.token_id, self.index, self.previous, self.to, self.counter
        )

    def digest(self) -> bytes:
        return hashlib.sha256(self.payload() + self.signature).digest()


@dataclass(frozen=True, slots=True)
class Note:
    token: Token
    hops: tuple[Hop, ...] = ()

    @property
    def holder(self) -> bytes:
        return self.hops[-1].to if self.hops else self.token.owner

    def owner_at(self, position: int) -> bytes:
        """Who held the token after `position` hops (0: the device it was loaded to)."""
        invariant(0 <= position <= len(self.hops), "a position within the chain")
        return self.token.owner if position == 0 else self.hops[position - 1].to

    def digests(self) -> list[bytes]:
        return [self.token.digest(), *(hop.digest() for hop in self.hops)]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def issue_token(
    issuer: Ed25519PrivateKey, token_id: int, amount: int, owner: bytes, expires_at_s: int
) -> Token:
    """The central bank's signed token for `amount` loaded to the device `owner`."""
    invariant(0 < token_id <= _u64_max and 0 < amount <= ledger_amount_max, "fields fit")
    invariant(len(owner) == KEY_BYTES and 0 < expires_at_s <= _u64_max, "fields fit")
    unsigned = Token(token_id, amount, owner, expires_at_s, b"")
    token = Token(token_id, amount, owner, expires_at_s, issuer.sign(unsigned.payload()))
    invariant(len(token.signature) == SIGNATURE_BYTES, "Ed25519 signatures are 64 bytes")
    return token


def sign_hop(owner: Ed25519PrivateKey, note: Note, to: bytes, counter: int) -> Note:
    """`note` handed to the device `to`, signed by its holder's key."""
    invariant(public_bytes(owner) == note.holder, "only the holder can pass a note on")
    invariant(len(to) == KEY_BYTES and 0 <= counter <= _u64_max, "fields fit")
    previous = note.hops[-1].digest() if note.hops else note.token.digest()
    unsigned = Hop(note.token.token_id, len(note.hops) + 1, previous, to, counter, b"")
    hop = Hop(
        unsigned.token_id,
        unsigned.index,
        unsigned.previous,
        unsigned.to,
        unsigned.counter,
        owner.sign(unsigned.payload()),
    )
    return Note(note.token, (*note.hops, hop))


def verify_note(note: Note, issuer: Ed25519PublicKey) -> bytes:
    """Check every signature and link of `note`; its holder's key, or `OfflineError`:
    `token_forged` (not the issuer's signature), `chain_broken` (a hop that does not extend
    what comes before it), `hop_forged` (a hop not signed by the owner it took the token
    from), `too_many_hops`."""
    token = note.token
    if len(note.hops) > cbdc_offline_hops_max:
        raise OfflineError("too_many_hops", f"a note carries at most {cbdc_offline_hops_max} hops")
    if not _valid_token_fields(token):
        raise OfflineError("token_malformed", "the token's fields are out of range")
    try:
        issuer.verify(token.signature, token.payload())
    except InvalidSignature:
        raise OfflineError("token_forged", "the token is not signed by the issuer") from None
    previous = token.digest()
    owner = token.owner
    for position, hop in enumerate(note.hops, start=1):
        if hop.token_id != token.token_id or hop.index != position or hop.previous != previous:
            raise OfflineError("chain_broken", f"hop {position} does not extend the chain")
        if len(hop.to) != KEY_BYTES or not 0 <= hop.counter <= _u64_max:
            raise OfflineError("token_malformed", f"hop {position} has fields out of range")
        try:
            Ed25519PublicKey.from_public_bytes(owner).verify(hop.signature, hop.payload())
        except (InvalidSignature, ValueError):
            raise OfflineError(
                "hop_forged", f"hop {position} is not signed by the token's owner"
            ) from None
        previous = hop.digest()
        owner = hop.to
    invariant(owner == note.holder, "the last payee holds the note")
    return owner


def _valid_token_fields(token: Token) -> bool:
    return (
        0 < token.token_id <= _u64_max
        and 0 < token.amount <= ledger_amount_max
        and len(token.owner) == KEY_BYTES
        and 0 < token.expires_at_s <= _u64_max
        and len(token.signature) == SIGNATURE_BYTES
    )


def first_divergence(first: Sequence[bytes], second: Sequence[bytes]) -> int | None:
    """The chain position where two histories of one token part (the index of the first hop
    that differs, or the shorter one's length when one extends the other); None if equal.

    The owner after `position - 1` hops signed both continuations: the double spender."""
    invariant(len(first) > 0 and len(second) > 0, "a chain starts with its token")
    invariant(first[0] == second[0], "two histories of the same token")
    for position, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            return position
    if len(first) == len(second):
        return None
    return min(len(first), len(second))


def split_into_notes(amount: int, denominations: Sequence[int]) -> list[int]:
    """Greedy split of a load into note amounts, largest first (denominations end in 1)."""
    invariant(amount > 0 and denominations[-1] == 1, "any amount can be split")
    notes: list[int] = []
    rest = amount
    for denomination in denominations:
        count, rest = divmod(rest, denomination)
        notes.extend([denomination] * count)
    invariant(sum(notes) == amount, "the notes add up to the load")
    return notes


def choose_notes(amounts: dict[int, int], target: int) -> list[int] | None:
    """Token ids whose amounts add up to exactly `target`, fewest-first greedy with an exact
    subset-sum fallback; None when no combination pays it exactly (offline there is no
    change but what the payee hands back)."""
    ordered = sorted(amounts.items(), key=lambda item: -item[1])
    chosen: list[int] = []
    rest = target
    for token_id, amount in ordered:
        if amount <= rest:
            chosen.append(token_id)
            rest -= amount
    if rest == 0:
        return chosen
    # Exact search: reachable sums as bits, remembering the first token that reached each.
    reached_by: dict[int, tuple[int, int]] = {0: (0, 0)}
    for token_id, amount in ordered:
        for total in sorted(reached_by, reverse=True):
            new = total + amount
            if new <= target and new not in reached_by:
                reached_by[new] = (token_id, total)
        if target in reached_by:
            break
    if target not in reached_by:
        return None
    path: list[int] = []
    total = target
    while total:
        token_id, total = reached_by[total]
        path.append(token_id)
    return path


@dataclass(slots=True)
class DeviceWallet:
    """What a phone or card holds offline: its key, its notes, its counter, its cap.

    It refuses notes that do not verify, are not to it, have expired, repeat one it holds
    or held (replay), or would take it over its cap."""

    key: Ed25519PrivateKey
    issuer: Ed25519PublicKey
    cap: int
    notes: dict[int, Note] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)  # token id -> longest chain seen
    counter: int = 0

    @property
    def public(self) -> bytes:
        return public_bytes(self.key)

    @property
    def balance(self) -> int:
        return sum(note.token.amount for note in self.notes.values())

    def receive(self, notes: Iterable[Note], now_s: int) -> None:
        """Take notes paid to this device, all or none."""
        batch = list(notes)
        incoming = 0
        for note in batch:
            if verify_note(note, self.issuer) != self.public:
                raise OfflineError("not_the_payee", "a note is not paid to this device")
            if note.token.expires_at_s <= now_s:
                raise OfflineError("token_expired", "a note has expired; it is redeemed online")
            if len(note.hops) + 1 <= self.seen.get(note.token.token_id, 0):
                raise OfflineError("replayed", "this device already took this note")
            incoming += note.token.amount
        if len({n.token.token_id for n in batch}) != len(batch):
            raise OfflineError("replayed", "a note appears twice in one payment")
        if self.balance + incoming > self.cap:
            raise OfflineError("offline_cap_exceeded", f"a device holds at most {self.cap}")
        for note in batch:
            self.notes[note.token.token_id] = note
            self.seen[note.token.token_id] = len(note.hops) + 1

    def pay(self, amount: int, to: bytes) -> list[Note]:
        """Hand over notes worth exactly `amount` to the device `to`, signing a hop each."""
        if amount <= 0:
            raise OfflineError("amount_invalid", "pay a positive amount")
        chosen = choose_notes({i: n.token.amount for i, n in self.notes.items()}, amount)
        if chosen is None:
            raise OfflineError("no_exact_notes", "no set of notes held pays exactly that")
        paid = []
        for token_id in chosen:
            self.counter += 1
            paid.append(sign_hop(self.key, self.notes.pop(token_id), to, self.counter))
        invariant(sum(n.token.amount for n in paid) == amount, "exactly the amount is paid")
        return paid


# -- the wire form: JSON with hex strings ---------------------------------------------------------


def note_to_json(note: Note) -> dict[str, Any]:
    token = note.token
    return {
        "token": {
            "id": token.token_id,
            "amount": token.amount,
            "owner": token.owner.hex(),
            "expires_at_s": token.expires_at_s,
            "signature": token.signature.hex(),
        },
        "hops": [
            {
                "index": hop.index,
                "previous": hop.previous.hex(),
                "to": hop.to.hex(),
                "counter": hop.counter,
                "signature": hop.signature.hex(),
            }
            for hop in note.hops
        ],
    }


def note_from_json(data: dict[str, Any]) -> Note:
    """A note from its wire form; `OfflineError("token_malformed")` for anything off."""
    try:
        token_data = data["token"]
        token = Token(
            _uint(token_data["id"]),
            _uint(token_data["amount"]),
            _hex(token_data["owner"], KEY_BYTES),
            _uint(token_data["expires_at_s"]),
            _hex(token_data["signature"], SIGNATURE_BYTES),
        )
        hops = tuple(
            Hop(
                token.token_id,
                _uint(hop["index"]),
                _hex(hop["previous"], 32),
                _hex(hop["to"], KEY_BYTES),
                _uint(hop["counter"]),
                _hex(hop["signature"], SIGNATURE_BYTES),
            )
            for hop in data["hops"]
        )
    except (KeyError, TypeError, ValueError):
        raise OfflineError("token_malformed", "the note is not in the documented form") from None
    if len(hops) > cbdc_offline_hops_max:
        raise OfflineError("too_many_hops", f"a note carries at most {cbdc_offline_hops_max} hops")
    return Note(token, hops)


def _uint(value: object) -> int:
    if type(value) is not int or not 0 <= value <= _u64_max:
        raise ValueError("not an unsigned 64-bit integer")
    return value


def _hex(value: object, length: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * length:
        raise ValueError("wrong length")
    return bytes.fromhex(value)
