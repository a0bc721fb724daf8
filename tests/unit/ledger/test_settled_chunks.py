"""`settled_chunks`: cutting a batch where no linked chain is open, so that applying the chunks
one after another is applying the batch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hazina.ledger.domain.apply import LedgerState, apply_accounts, apply_transfers, settled_chunks
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountRequest, CreateResult, TransferRequest

LINKED = TransferFlags.linked


def _transfers(flags: list[int]) -> list[TransferRequest]:
    return [TransferRequest(i + 1, 1, 2, 1, 1, 1, flags=f) for i, f in enumerate(flags)]


def test_cuts_every_size_events_when_nothing_is_linked() -> None:
    assert settled_chunks(_transfers([0] * 7), 3) == [(0, 3), (3, 6), (6, 7)]


def test_chunks_start_at_first_and_double_up_to_size() -> None:
    assert settled_chunks(_transfers([0] * 20), 8, first=2) == [(0, 2), (2, 6), (6, 14), (14, 20)]
    assert settled_chunks(_transfers([0] * 5), 8, first=2) == [(0, 2), (2, 5)]
    assert settled_chunks(_transfers([0] * 7), 3, first=5) == [(0, 3), (3, 6), (6, 7)]


def test_a_growing_chunk_still_ends_where_no_chain_is_open() -> None:
    # the first cut (after event 0) falls inside the chain 0..2, so it moves to its end
    flags = [LINKED, LINKED, 0, 0, 0, 0, 0, 0]
    assert settled_chunks(_transfers(flags), 4, first=1) == [(0, 3), (3, 5), (5, 8)]


def test_a_batch_that_fits_is_one_chunk() -> None:
    assert settled_chunks(_transfers([0] * 3), 3) == [(0, 3)]
    assert settled_chunks([], 3) == []


def test_an_open_chain_moves_the_cut_to_its_end() -> None:
    # events 2..4 are a chain (2 and 3 linked, 4 closes it): no cut inside it
    flags = [0, 0, LINKED, LINKED, 0, 0, 0]
    assert settled_chunks(_transfers(flags), 3) == [(0, 5), (5, 7)]


def test_a_chain_longer_than_a_chunk_stays_whole() -> None:
    flags = [LINKED] * 9 + [0, 0]
    assert settled_chunks(_transfers(flags), 2) == [(0, 10), (10, 11)]


def test_a_chain_left_open_at_the_end_stays_with_its_start() -> None:
    flags = [0, 0, LINKED, LINKED]
    assert settled_chunks(_transfers(flags), 2) == [(0, 2), (2, 4)]
    assert settled_chunks(_transfers([0, LINKED, LINKED, LINKED]), 1) == [(0, 1), (1, 4)]


def test_malformed_flags_link_nothing_as_in_apply() -> None:
    batch = [TransferRequest(1, 1, 2, 1, 1, 1, flags=True), *_transfers([0, 0])[1:]]  # type: ignore[arg-type]
    assert settled_chunks(batch, 1) == [(0, 1), (1, 2)]


_event = st.tuples(
    st.integers(1, 12),  # id: repeats make `exists` and `id_already_failed`
    st.integers(1, 4),  # debit account (4 does not exist)
    st.integers(1, 4),  # credit account
    st.integers(0, 120),  # amount (0 fails unless balancing)
    st.sampled_from([0, 0, LINKED, LINKED, TransferFlags.pending, TransferFlags.balancing_debit]),
)


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(_event, max_size=40),
    size=st.integers(1, 6),
    first=st.none() | st.integers(1, 6),
)
def test_applying_the_chunks_is_applying_the_batch(
    events: list[tuple[int, int, int, int, int]], size: int, first: int | None
) -> None:
    batch = [TransferRequest(i, d, c, a, 1, 1, flags=f) for i, d, c, a, f in events]

    def fresh() -> LedgerState:
        state = LedgerState()
        accounts = [
            AccountRequest(1, 1, 1, flags=AccountFlags.debits_must_not_exceed_credits),
            AccountRequest(2, 1, 1),
            AccountRequest(3, 1, 1, flags=AccountFlags.history),
        ]
        assert apply_accounts(accounts, state, 1).results == []
        assert apply_transfers([TransferRequest(99, 2, 1, 100, 1, 1)], state, 10).results == []
        return state

    whole_state = fresh()
    whole = apply_transfers(batch, whole_state, 1_000)
    chunked_state = fresh()
    results: list[CreateResult] = []
    created = []
    for start, stop in settled_chunks(batch, size, first):
        outcome = apply_transfers(batch[start:stop], chunked_state, 1_000 + start)
        results += [CreateResult(r.index + start, r.status) for r in outcome.results]
        created += outcome.transfers_created
    assert results == whole.results
    assert created == whole.transfers_created
    assert {i: a.to_account() for i, a in chunked_state.accounts.items()} == {
        i: a.to_account() for i, a in whole_state.accounts.items()
    }
    assert chunked_state.pending == whole_state.pending
    assert chunked_state.failed == whole_state.failed
