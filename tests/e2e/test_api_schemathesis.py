"""Schemathesis against the live application: every operation of the OpenAPI document gets
generated requests, valid and invalid, sent in-process over ASGI with an all-scopes key. Every
answer must be no server error and exactly what the document promises: a documented status
code, the documented content type, a body that fits the schema, documented headers.

Random ids and phone numbers would only ever find nothing, so generated requests have some of
their ids, wallets, phones and codes swapped for ones that exist (a small world registered
through the API first): that takes them past the lookups into the payment rules. It runs on
SQLite and on PostgreSQL, whose text columns refuse what SQLite takes (NUL characters).

Schemathesis's own pytest integration loads a schema from a fixture lazily, which breaks on
pytest 9 (it writes `Function._nodeid`); so this drives the schema's Hypothesis strategies
itself, one operation after another, and reports every operation that fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hazina.api.app import create_app
from hazina.bootstrap import Platform, build_platform
from hazina.identity.roles import Scope
from hazina.kernel.clock import FixedClock
from tests.e2e.conftest import (
    ALICE_PHONE,
    BOB_PHONE,
    CAROL_PHONE,
    KES,
    START_NS,
    Api,
    build_world,
)
from tests.integration.platform_world import DATABASE_KINDS, database_of_kind
from tests.unit.api.client import TestClient

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 15  # for each of positive and negative generation
# Where the caller's own credentials are the generated input (a password, a client secret),
# or that only a partner's access token may call: 401 / 403 are the right answers there.
client_credential_paths = frozenset({"/v1/operator-sessions", "/oauth2/token", "/oauth2/revoke"})
partner_only_paths = frozenset({"/v1/partner/usage"})


@dataclass(frozen=True)
class Fuzzing:
    schema: schemathesis.BaseSchema
    key: str
    known: dict[str, list[str]]  # real values by parameter or body field name


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def fuzzed_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """As `database`, for the whole module: the fuzzed world persists across examples."""
    directory = tmp_path_factory.mktemp("schemathesis")
    with database_of_kind(request, request.param, directory) as database:
        yield database


@pytest.fixture(scope="module")
def fuzzing(fuzzed_database: str) -> Iterator[Fuzzing]:
    clock = FixedClock(START_NS)
    platform: Platform = build_platform(fuzzed_database, clock=clock)
    key = platform.identity.issue_key("fuzz", "tests", list(Scope), "tests").plaintext
    app = create_app(platform)
    with TestClient(app) as client:
        api = Api(client, key)
        world = build_world(platform, clock, api)
        wallets = world.wallets
        sent = api.created(
            "/v1/p2p-transfers",
            {
                "sender_wallet": wallets["Alice"],
                "recipient_phone": BOB_PHONE,
                "amount": "500.00",
                "currency": KES,
            },
        )["transaction"]
        held = api.created(
            "/v1/bank-transfers",
            {
                "payer_wallet": wallets["Alice"],
                "bank_code": "BNK01",
                "bank_account": "0011",
                "amount": "100.00",
                "currency": KES,
            },
        )
        reversal = api.created(
            "/v1/reversal-requests", {"transaction_id": sent["id"], "reason": "fuzzing"}
        )
        other_key = api.created(
            "/v1/api-keys", {"name": "other", "owner": "tests", "scopes": ["audit:read"]}
        )
    customers = [wallets["Alice"], wallets["Bob"]]
    transactions = [sent["id"], held["id"]]
    known = {
        # path parameters
        "party_id": [party["id"] for party in world.parties.values()],
        "wallet_id": list(wallets.values()),
        "transaction_id": transactions,
        "request_id": [reversal["id"]],
        "key_id": [other_key["key_id"]],  # never the fuzzing key itself
        "currency": [KES],
        # body fields
        "agent_wallet": [wallets["Agent"]],
        "sender_wallet": customers,
        "customer_wallet": customers,
        "payer_wallet": customers,
        "wallet": customers,
        "customer_phone": [ALICE_PHONE, BOB_PHONE],
        "recipient_phone": [ALICE_PHONE, BOB_PHONE, CAROL_PHONE],
        "agent_code": ["AG001"],
        "merchant_code": ["M001"],
        "biller_code": ["KPLC"],
        "bank_code": ["BNK01"],
    }
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield Fuzzing(schema, key, known)
    platform.close()


def with_known_values(case: schemathesis.Case, known: dict[str, list[str]], data: Any) -> None:
    """Swap some generated path parameters and body fields for values that exist."""
    for name in list(case.path_parameters or {}):
        if name in known and data.draw(st.booleans()):
            case.path_parameters[name] = data.draw(st.sampled_from(known[name]))  # type: ignore[index]
    if isinstance(case.body, dict):
        for name in list(case.body):
            if name in known and data.draw(st.booleans()):
                case.body[name] = data.draw(st.sampled_from(known[name]))


def conformance_test(
    operation: Any, fuzzing: Fuzzing, headers: dict[str, str]
) -> Callable[[], None]:
    """A Hypothesis test of one operation: generated requests, valid and invalid, each
    answered as the document says."""
    strategy = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE, headers=headers),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE, headers=headers),
    )

    @given(case=strategy, data=st.data())
    @settings(
        max_examples=2 * EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def conforms(case: schemathesis.Case, data: Any) -> None:
        with_known_values(case, fuzzing.known, data)
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if operation.path not in client_credential_paths:  # wrong credentials are 401 there
            assert response.status_code != 401, "the all-scopes key is always accepted"
        if operation.path not in partner_only_paths:
            assert response.status_code != 403, "the all-scopes key is never refused"

    return conforms  # type: ignore[no-any-return]


def test_every_operation_conforms_to_the_document(fuzzing: Fuzzing) -> None:
    # The home tenant, where the key lives (a generated tenant would be another database).
    headers = {"Authorization": f"Bearer {fuzzing.key}", "Hazina-Tenant": "home"}
    operations = [result.ok() for result in fuzzing.schema.get_all_operations()]
    assert len(operations) >= 30
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            conformance_test(operation, fuzzing, headers)()
        except Exception as error:  # every operation's failure is reported, not just the first
            failures[operation.label] = f"{type(error).__name__}: {error}"
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
