"""`GET /v1/ledger-verification`: an auditor re-derives the ledger over HTTP, keeps the journal
head it answers, and later checks the ledger still passes through it; on both databases."""

from __future__ import annotations

import re
from typing import Any

from hazina.bootstrap import Platform
from tests.e2e.conftest import BOB_PHONE, KES, Api, World, assert_problem

HEAD = re.compile(r"^(\d+):[0-9a-f]{64}$")


def verification(api: Api, key: str, **params: str) -> dict[str, Any]:
    response = api.get("/v1/ledger-verification", key=key, **params)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def test_an_auditor_verifies_the_ledger_and_keeps_its_head(
    world: World, platform: Platform
) -> None:
    api = world.api
    auditor = platform.identity.issue_key("audit", "auditors", ["audit:read"], "tests").plaintext
    report = verification(api, auditor)
    assert report["ok"] is True, report["problems"]
    assert report["problems"] == []
    assert report["first_break"] is None
    assert report["transfers"] > 0
    assert report["accounts"] > 0
    assert report["records"] == report["transfers"] + report["accounts"]  # no expiries here
    head = HEAD.match(report["head"] or "")
    assert head is not None
    assert int(head.group(1)) == report["journal_entries"]

    # Money moves on; the head kept from before is still on the chain.
    api.created(
        "/v1/p2p-transfers",
        {"sender_wallet": world.wallets["Alice"], "recipient_phone": BOB_PHONE,
         "amount": "150.00", "currency": KES},
    )  # fmt: skip
    again = verification(api, auditor, head=report["head"])
    assert again["ok"] is True
    assert again["journal_entries"] > report["journal_entries"]
    # A head the journal never reached: reported as entries removed, not as an error.
    later = f"{again['journal_entries'] + 1}:{'0' * 64}"
    cut = verification(api, auditor, head=later)
    assert cut["ok"] is False
    assert "(entries were removed)" in cut["first_break"]
    # A head of the right entry with another hash: rewritten.
    rewritten = verification(api, auditor, head=f"1:{'0' * 64}")
    assert (
        rewritten["first_break"] == "journal entry 1: is not the expected head (it was rewritten)"
    )

    runs = [
        e for e in api.ok("/v1/audit-log", limit=100)["data"] if e["action"] == "ledger.verified"
    ]
    assert len(runs) == 4
    assert runs[0]["subject"] == report["head"]
    assert runs[0]["details"] == {"ok": True, "problems": 0}
    assert runs[-1]["details"] == {"ok": False, "problems": 1}


def test_verification_needs_the_audit_scope_and_a_well_formed_head(
    world: World, platform: Platform
) -> None:
    api = world.api
    payments_only = platform.identity.issue_key("p", "tests", ["payments:read"], "tests").plaintext
    refused = api.get("/v1/ledger-verification", key=payments_only)
    assert assert_problem(refused, 403, "forbidden")["required_scope"] == "audit:read"
    for head in ("nope", "0:" + "00" * 32, "3:" + "zz" * 32):
        problem = assert_problem(
            api.get("/v1/ledger-verification", head=head), 422, "journal_head_invalid"
        )
        assert "SEQUENCE:64-HEX-DIGITS" in problem["detail"]
