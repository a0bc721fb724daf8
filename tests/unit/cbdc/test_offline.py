"""Offline notes: honest flows between devices, and replay, forgery and double spending
caught on the device or by comparing histories."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hazina.cbdc.offline import (
    DeviceWallet,
    Note,
    OfflineError,
    choose_notes,
    first_divergence,
    issue_token,
    note_from_json,
    note_to_json,
    public_bytes,
    sign_hop,
    split_into_notes,
    verify_note,
)

NOW_S = 1_763_000_000
LATER_S = NOW_S + 86_400
CAP = 500_000


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(random.Random(seed).randbytes(32))


ISSUER = _key(1)


def _device(seed: int, cap: int = CAP) -> DeviceWallet:
    return DeviceWallet(_key(seed), ISSUER.public_key(), cap)


def _loaded(device: DeviceWallet, *amounts: int) -> DeviceWallet:
    tokens = [
        Note(issue_token(ISSUER, 100 + i, amount, device.public, LATER_S))
        for i, amount in enumerate(amounts)
    ]
    device.receive(tokens, NOW_S)
    return device


def test_honest_payments_pass_from_device_to_device() -> None:
    alice, bob, carol = _loaded(_device(2), 5_000, 2_000, 1_000), _device(3), _device(4)
    bob.receive(alice.pay(7_000, bob.public), NOW_S)
    assert (alice.balance, bob.balance) == (1_000, 7_000)
    carol.receive(bob.pay(2_000, carol.public), NOW_S)
    assert (bob.balance, carol.balance) == (5_000, 2_000)
    [note] = carol.notes.values()
    assert len(note.hops) == 2
    assert verify_note(note, ISSUER.public_key()) == carol.public
    assert [hop.counter for hop in note.hops] == [2, 1]  # alice's 2nd hop, bob's 1st


def test_a_note_survives_its_wire_form() -> None:
    alice, bob = _loaded(_device(2), 5_000), _device(3)
    [note] = alice.pay(5_000, bob.public)
    assert note_from_json(note_to_json(note)) == note


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda n: replace(n, token=replace(n.token, amount=n.token.amount * 10)), "token_forged"),
        (lambda n: replace(n, token=replace(n.token, owner=public_bytes(_key(9)))), "token_forged"),
        (lambda n: replace(n, hops=(replace(n.hops[0], to=public_bytes(_key(9))),)), "hop_forged"),
        (lambda n: replace(n, hops=(replace(n.hops[0], index=2),)), "chain_broken"),
        (lambda n: replace(n, hops=(replace(n.hops[0], previous=bytes(32)),)), "chain_broken"),
        (lambda n: replace(n, hops=(replace(n.hops[0], token_id=1),)), "chain_broken"),
        (lambda n: replace(n, token=replace(n.token, signature=bytes(64))), "token_forged"),
        (lambda n: replace(n, token=replace(n.token, owner=b"short")), "token_malformed"),
    ],
)
def test_forgeries_are_refused(change: object, code: str) -> None:
    alice, bob = _loaded(_device(2), 5_000), _device(3)
    [note] = alice.pay(5_000, bob.public)
    forged = change(note)  # type: ignore[operator]
    with pytest.raises(OfflineError) as caught:
        verify_note(forged, ISSUER.public_key())
    assert caught.value.code == code
    with pytest.raises(OfflineError):
        bob.receive([forged], NOW_S)
    assert bob.balance == 0


def test_a_token_not_signed_by_the_issuer_is_refused() -> None:
    bob = _device(3)
    fake = Note(issue_token(_key(77), 1, 5_000, bob.public, LATER_S))
    with pytest.raises(OfflineError, match="not signed by the issuer"):
        bob.receive([fake], NOW_S)


def test_a_payee_refuses_a_replayed_note() -> None:
    alice, bob = _loaded(_device(2), 5_000), _device(3)
    paid = alice.pay(5_000, bob.public)
    bob.receive(paid, NOW_S)
    with pytest.raises(OfflineError) as caught:
        bob.receive(paid, NOW_S)
    assert caught.value.code == "replayed"
    assert bob.balance == 5_000


def test_a_payee_refuses_notes_for_someone_else_expired_or_over_its_cap() -> None:
    alice, bob, carol = _loaded(_device(2), 5_000, 3_000), _device(3, cap=4_000), _device(4)
    to_carol = alice.pay(3_000, carol.public)
    with pytest.raises(OfflineError, match="not paid to this device"):
        bob.receive(to_carol, NOW_S)
    with pytest.raises(OfflineError, match="expired"):
        carol.receive(to_carol, LATER_S)
    with pytest.raises(OfflineError) as caught:
        bob.receive(alice.pay(5_000, bob.public), NOW_S)
    assert caught.value.code == "offline_cap_exceeded"


def test_a_cloned_device_double_spends_and_the_histories_name_it() -> None:
    mallory = _loaded(_device(5), 5_000)
    clone = DeviceWallet(mallory.key, mallory.issuer, CAP, dict(mallory.notes))
    bob, carol = _device(3), _device(4)
    bob.receive(mallory.pay(5_000, bob.public), NOW_S)
    carol.receive(clone.pay(5_000, carol.public), NOW_S)  # both verify offline
    [to_bob], [to_carol] = bob.notes.values(), carol.notes.values()
    position = first_divergence(to_bob.digests(), to_carol.digests())
    assert position == 1
    assert to_bob.owner_at(position - 1) == mallory.public
    # One history extending the other: the holder at the shorter end spent it twice.
    dave = _device(6)
    dave.receive(bob.pay(5_000, dave.public), NOW_S)
    [to_dave] = dave.notes.values()
    assert first_divergence(to_bob.digests(), to_dave.digests()) == 2
    assert to_dave.owner_at(1) == bob.public
    assert first_divergence(to_bob.digests(), to_bob.digests()) is None


def test_only_the_holder_can_sign_a_hop() -> None:
    alice, bob = _loaded(_device(2), 5_000), _device(3)
    [note] = alice.notes.values()
    with pytest.raises(Exception, match="only the holder"):
        sign_hop(bob.key, note, bob.public, 1)


def test_loads_split_into_notes_and_payments_find_exact_sets() -> None:
    assert split_into_notes(12_345, (10_000, 1_000, 100, 10, 1)) == [
        10_000, 1_000, 1_000, 100, 100, 100, 10, 10, 10, 10, 1, 1, 1, 1, 1,
    ]  # fmt: skip
    assert sorted(choose_notes({1: 500, 2: 200, 3: 200, 4: 100}, 400) or []) == [2, 3]
    assert choose_notes({1: 500, 2: 300}, 600) is None
    assert choose_notes({1: 500}, 500) == [1]
    alice = _loaded(_device(2), 500, 300, 300)
    with pytest.raises(OfflineError) as caught:
        alice.pay(700, _device(3).public)
    assert caught.value.code == "no_exact_notes"
    assert alice.balance == 1_100


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"token": {}, "hops": []},
        {"token": {"id": -1, "amount": 1, "owner": "00" * 32, "expires_at_s": 1,
                   "signature": "00" * 64}, "hops": []},
        {"token": {"id": 1, "amount": 1, "owner": "zz" * 32, "expires_at_s": 1,
                   "signature": "00" * 64}, "hops": []},
        {"token": {"id": 1, "amount": 1, "owner": "00" * 32, "expires_at_s": 1,
                   "signature": "00" * 64}, "hops": [{"index": 1}]},
    ],
)  # fmt: skip
def test_malformed_wire_notes_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(OfflineError) as caught:
        note_from_json(data)
    assert caught.value.code == "token_malformed"
