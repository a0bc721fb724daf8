"""`chain_failure`: the event that failed a linked chain on its own, not its chain-mates."""

from __future__ import annotations

import pytest

from hazina.ledger.domain.model import CreateResult, chain_failure
from hazina.ledger.domain.results import CreateTransferStatus as S


def test_the_first_event_that_failed_on_its_own_is_named() -> None:
    results = [
        CreateResult(0, S.linked_event_failed),
        CreateResult(1, S.exceeds_credits),
        CreateResult(2, S.linked_event_failed),
    ]
    assert chain_failure(results) == (1, S.exceeds_credits)


def test_a_chain_refused_by_nothing_is_a_bug() -> None:
    with pytest.raises(ValueError, match="failed on its own"):
        chain_failure([CreateResult(0, S.linked_event_failed)])
