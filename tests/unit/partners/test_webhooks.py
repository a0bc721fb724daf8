"""The pure rules of webhooks: the retry schedule, event-type matching and validation,
endpoint URLs, secrets, message bodies and Standard Webhooks signature headers."""

from __future__ import annotations

import ast
import base64
import itertools
import json
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from hazina.identity.roles import Scope
from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import (
    webhook_attempts_max,
    webhook_backoff_first_s,
    webhook_backoff_max_s,
    webhook_event_types_max,
    webhook_secret_bytes_min,
    webhook_url_length_max,
)
from hazina.partners.webhooks import (
    ALLOW_HTTP_LOOPBACK_ENV,
    EVENT_FAMILY_SCOPES,
    allow_http_loopback_from_environment,
    check_event_types,
    check_url,
    event_id,
    matches,
    message_body,
    new_secret,
    read_scopes_needed,
    retry_delay_s,
    retry_schedule_s,
    signature_headers,
)
from hazina.payments.errors import PaymentError

SOURCE = Path(__file__).parents[3] / "src" / "hazina"


def test_the_retry_delay_doubles_from_the_first_up_to_the_cap() -> None:
    assert [retry_delay_s(n) for n in range(1, 8)] == [5, 10, 20, 40, 80, 160, 320]
    assert webhook_backoff_first_s == 5
    assert retry_delay_s(13) == 5 * 2**12 == 20_480
    assert retry_delay_s(14) == webhook_backoff_max_s == 21_600
    assert retry_delay_s(10_000) == webhook_backoff_max_s, "huge counts do not overflow"
    with pytest.raises(InvariantViolationError):
        retry_delay_s(0)


def test_the_schedule_has_one_delay_between_each_two_attempts() -> None:
    schedule = retry_schedule_s()
    assert len(schedule) == webhook_attempts_max - 1
    assert schedule == sorted(schedule)
    assert all(
        later == min(2 * earlier, webhook_backoff_max_s)
        for earlier, later in itertools.pairwise(schedule)
    )


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["transaction.completed"], "transaction.completed", True),
        (["transaction.completed"], "transaction.failed", False),
        (["transaction.*"], "transaction.failed", True),
        (["transaction.*"], "transaction", False),
        (["transaction.*"], "transactions.failed", False),
        (["cbdc.*"], "cbdc.conditional.created", True),
        (["cbdc.conditional.*"], "cbdc.wallet.opened", False),
        (["*"], "loan.disbursed", True),
        (["*"], "payroll.paid", False),  # a family nobody was checked for
        (["payroll.paid"], "payroll.paid", True),
        (["loan.repaid", "party.*"], "party.registered", True),
        (["loan.repaid", "party.*"], "loan_product.created", False),
    ],
)
def test_matching(patterns: list[str], event_type: str, expected: bool) -> None:
    assert matches(patterns, event_type) is expected


def test_event_types_are_checked_and_deduplicated_in_order() -> None:
    assert check_event_types(["party.*", "loan.repaid", "party.*"]) == ("party.*", "loan.repaid")
    for bad in ["", "Transaction", "transaction.", "transaction.*.x", "*.completed", "a b", "a.**"]:
        with pytest.raises(PaymentError) as refused:
            check_event_types([bad])
        assert refused.value.code == "event_type_invalid", bad
    for count in (0, webhook_event_types_max + 1):
        with pytest.raises(PaymentError) as refused:
            check_event_types([f"e{n}.x" for n in range(count)])
        assert refused.value.code == "event_types_count"


def test_events_of_unknown_families_cannot_be_subscribed_to() -> None:
    for unknown in ["payroll.paid", "payroll.*", "transactions.*", "loans.repaid"]:
        with pytest.raises(PaymentError) as refused:
            check_event_types([unknown])
        assert refused.value.code == "event_type_unknown", unknown


def test_subscribers_need_the_read_scope_of_each_family() -> None:
    assert read_scopes_needed(["transaction.completed"]) == {"payments:read"}
    assert read_scopes_needed(["transaction.*", "reversal.decided", "loan.*"]) == {"payments:read"}
    assert read_scopes_needed(["party.*", "cbdc.wallet.opened"]) == {
        "parties:read",
        "cbdc:read",
    }
    assert read_scopes_needed(["loan_product.created"]) == {"tariffs:read"}
    assert read_scopes_needed(["party.*", "*"]) == set(EVENT_FAMILY_SCOPES.values())
    assert all(Scope(scope).value.endswith(":read") for scope in EVENT_FAMILY_SCOPES.values())


def _families_written() -> set[str]:
    """The family of every event type the platform's code writes to the outbox."""
    families: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "write_outbox"):
                continue
            # A literal, an f-string ("transaction.{status}") or a choice between them.
            names = [
                part.value
                for part in ast.walk(node.args[2])
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            ]
            assert names, f"{path}:{node.lineno}: an event type the test cannot read"
            families |= {name.partition(".")[0] for name in names if "." in name}
    return families


def test_every_family_the_platform_writes_has_a_scope() -> None:
    written = _families_written()
    assert {"transaction", "party", "loan", "cbdc"} <= written
    assert written <= set(EVENT_FAMILY_SCOPES), written - set(EVENT_FAMILY_SCOPES)


@pytest.mark.parametrize(
    "url",
    [
        "https://partner.example/hooks",
        "https://partner.example:8443/hooks?v=1",
        "https://8.8.8.8/hooks",
        "https://[2001:4860:4860::8888]/hooks",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, allow_http_loopback=False) == url


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://partner.example/hooks", "url_not_https"),
        ("http://127.0.0.1:9000/", "url_not_https"),
        ("https://127.0.0.1/", "url_not_public"),
        ("https://localhost/", "url_not_public"),
        ("https://api.localhost/", "url_not_public"),
        ("https://intranet/", "url_not_public"),
        ("https://10.1.2.3/", "url_not_public"),
        ("https://192.168.0.1/", "url_not_public"),
        ("https://169.254.169.254/latest/meta-data", "url_not_public"),
        ("https://[::1]/", "url_not_public"),
        ("https://[fd00::1]/", "url_not_public"),
        ("https://224.0.0.1/", "url_not_public"),
        ("ftp://partner.example/", "url_invalid"),
        ("https:///nohost", "url_invalid"),
        ("https://user:secret@partner.example/", "url_invalid"),
        ("https://partner.example/#fragment", "url_invalid"),
        ("https://partner.example/a b", "url_invalid"),
        ("https://partner.example:99999/", "url_invalid"),
        ("https://partner.exámple/", "url_invalid"),
        ("", "url_invalid"),
        ("https://partner.example/" + "a" * webhook_url_length_max, "url_invalid"),
    ],
)
def test_other_urls_are_refused(url: str, code: str) -> None:
    with pytest.raises(PaymentError) as refused:
        check_url(url, allow_http_loopback=False)
    assert refused.value.code == code


def test_loopback_receivers_only_where_allowed() -> None:
    for url in ["http://127.0.0.1:8080/hooks", "http://localhost/", "https://[::1]:9/"]:
        assert check_url(url, allow_http_loopback=True) == url
    with pytest.raises(PaymentError) as refused:
        check_url("http://partner.example/", allow_http_loopback=True)
    assert refused.value.code == "url_not_https", "http stays loopback-only"
    with pytest.raises(PaymentError):
        check_url("http://10.0.0.1/", allow_http_loopback=True)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_HTTP_LOOPBACK_ENV, raising=False)
    assert allow_http_loopback_from_environment() is False
    monkeypatch.setenv(ALLOW_HTTP_LOOPBACK_ENV, "1")
    assert allow_http_loopback_from_environment() is True
    monkeypatch.setenv(ALLOW_HTTP_LOOPBACK_ENV, "0")
    assert allow_http_loopback_from_environment() is False


def test_secrets_are_standard_webhooks_secrets() -> None:
    secret = new_secret(lambda n: bytes(range(n)))
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret.removeprefix("whsec_")) == bytes(range(webhook_secret_bytes_min))
    Webhook(secret)  # the package accepts it


def test_the_body_and_headers_verify_with_the_package() -> None:
    now_ns = time.time_ns()
    body = message_body(42, "transaction.completed", "txn-1", {"amount": 100}, now_ns)
    parsed = json.loads(body)
    assert parsed["id"] == event_id(42) == "evt_000000000000002a"
    assert parsed["type"] == "transaction.completed"
    assert parsed["data"] == {"amount": 100}
    assert parsed["timestamp"].endswith("Z")
    first, second = new_secret(lambda n: b"\x01" * n), new_secret(lambda n: b"\x02" * n)
    headers = signature_headers([first, second], event_id(42), now_ns, body)
    assert headers["webhook-id"] == "evt_000000000000002a"
    assert headers["webhook-timestamp"] == str(now_ns // 10**9)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(first).verify(body, headers) == parsed
    assert Webhook(second).verify(body, headers) == parsed
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret(lambda n: b"\x03" * n)).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(first).verify(body.replace("100", "900"), headers)
