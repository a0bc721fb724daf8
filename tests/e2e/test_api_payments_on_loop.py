"""Money movements on SQLite run on the event loop (no pool thread), suspended while the
ledger commits them; on PostgreSQL, where each read is a round trip, they stay in the pool.
Either way, concurrent payments all commit, grouped, and every answer is the caller's own."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import httpx
import pytest

from hazina.api.app import create_app
from hazina.payments.service import PaymentsService
from tests.e2e.conftest import BOB_PHONE, KES, World, new_key

PAYMENTS = 24


def test_concurrent_payments_commit_grouped_on_the_right_thread(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = world.platform
    threads: list[int] = []
    send_p2p = PaymentsService.send_p2p

    def recording(self: PaymentsService, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return send_p2p(self, *args, **kwargs)

    monkeypatch.setattr(PaymentsService, "send_p2p", recording)
    headers = {"Authorization": f"Bearer {world.api.key}"}
    before = world.api.balance(world.wallets["Bob"])
    commits_before = platform.ledger.commits

    async def pay_all() -> tuple[list[httpx.Response], int]:
        transport = httpx.ASGITransport(app=create_app(platform))
        async with httpx.AsyncClient(transport=transport, base_url="http://hazina") as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/v1/p2p-transfers",
                        json={
                            "sender_wallet": world.wallets["Alice"],
                            "recipient_phone": BOB_PHONE,
                            "amount": f"{number}.00",
                            "currency": KES,
                            "note": f"payment {number}",
                        },
                        headers={**headers, "Idempotency-Key": new_key()},
                    )
                    for number in range(1, PAYMENTS + 1)
                )
            )
        return responses, threading.get_ident()

    responses, loop_thread = asyncio.run(pay_all())
    assert [r.status_code for r in responses] == [201] * PAYMENTS, responses[0].text
    amounts = [r.json()["transaction"]["amount"] for r in responses]
    assert amounts == [f"{number}.00" for number in range(1, PAYMENTS + 1)], "each its own"
    assert len({r.json()["transaction"]["id"] for r in responses}) == PAYMENTS
    paid = PAYMENTS * (PAYMENTS + 1) // 2
    assert Decimal(world.api.balance(world.wallets["Bob"])) == Decimal(before) + paid
    assert platform.ledger.commits - commits_before < PAYMENTS, "payments share commits"
    on_loop = {thread == loop_thread for thread in threads}
    if platform.ledger.store.dialect == "sqlite":
        assert on_loop == {True}, "SQLite: every payment ran on the event loop's thread"
    else:
        assert on_loop == {False}, "PostgreSQL: every payment ran in a pool thread"
