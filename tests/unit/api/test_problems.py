"""Every failure is an RFC 9457 problem with a stable code; one test per generic code."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, field_validator

from hazina.api.middleware import RequestIdMiddleware
from hazina.api.problems import (
    PROBLEM_RESPONSES,
    Problem,
    ProblemError,
    install_problem_handlers,
    problem_response,
)
from hazina.kernel.invariant import InvariantViolationError
from tests.unit.api.client import TestClient

PROBLEM_JSON = "application/problem+json"


class Transfer(BaseModel):
    amount: str
    reference: str

    @field_validator("reference")
    @classmethod
    def reference_is_not_blank(cls, value: str) -> str:
        # A ValueError raised here reaches pydantic's error `ctx` as an exception object,
        # which JSON cannot encode: the handler must not pass it on.
        if not value.strip():
            raise ValueError("reference must not be blank")
        return value


def build_app(*, with_request_ids: bool = True) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/accounts/{account_id}", responses=PROBLEM_RESPONSES)
    async def get_account(account_id: str) -> dict[str, str]:
        raise ProblemError(
            404,
            "account_not_found",
            "No such account",
            f"There is no account {account_id}.",
            account_id=account_id,
        )

    @app.get("/v1/private")
    async def private() -> dict[str, str]:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            headers={"WWW-Authenticate": 'Bearer realm="hazina"'},
        )

    @app.post("/v1/transfers", responses=PROBLEM_RESPONSES)
    async def create_transfer(transfer: Transfer) -> dict[str, str]:
        return {"amount": transfer.amount}

    @app.get("/v1/search")
    async def search(limit: int = Query(ge=1, le=10)) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/v1/forbidden")
    async def forbidden() -> dict[str, str]:
        raise HTTPException(403, "Operators only.")

    @app.get("/v1/teapot")
    async def teapot() -> dict[str, str]:
        raise HTTPException(418)

    @app.get("/v1/crash")
    async def crash() -> dict[str, str]:
        raise RuntimeError("password=hunter2 in postgresql://db.internal")

    if with_request_ids:
        app.add_middleware(RequestIdMiddleware)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app(), raise_server_exceptions=False)


def problem_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """The body of a problem response, after checking what every problem response shares."""
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://hazina.dev/problems/{code}"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers.get_list("x-request-id") == [body["request_id"]]
    Problem.model_validate(body)  # the documented schema describes what is sent
    return body


def test_problem_error_becomes_a_problem_with_its_extensions(client: TestClient) -> None:
    response = client.get("/v1/accounts/acc_1", headers={"X-Request-ID": "trace-1"})
    body = problem_of(response, 404, "account_not_found")
    assert body == {
        "type": "https://hazina.dev/problems/account_not_found",
        "title": "No such account",
        "status": 404,
        "detail": "There is no account acc_1.",
        "instance": "/v1/accounts/acc_1",
        "code": "account_not_found",
        "request_id": "trace-1",
        "account_id": "acc_1",
    }


def test_problem_error_headers_are_sent_and_absent_detail_is_left_out(
    client: TestClient,
) -> None:
    response = client.get("/v1/private")
    body = problem_of(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == 'Bearer realm="hazina"'
    assert "detail" not in body


def test_validation_error_lists_every_issue_in_a_json_safe_form(client: TestClient) -> None:
    response = client.post("/v1/transfers", json={"reference": "   "})
    body = problem_of(response, 422, "validation_error")
    assert body["instance"] == "/v1/transfers"
    issues = sorted(body["errors"], key=lambda issue: issue["location"])
    assert [issue["location"] for issue in issues] == [
        ["body", "amount"],
        ["body", "reference"],
    ]
    assert [issue["type"] for issue in issues] == ["missing", "value_error"]
    assert "reference must not be blank" in issues[1]["message"]
    for issue in issues:
        assert set(issue) == {"location", "message", "type"}  # no `input` echo, no `ctx`


def test_validation_error_of_a_query_parameter(client: TestClient) -> None:
    response = client.get("/v1/search", params={"limit": "eleven"})
    body = problem_of(response, 422, "validation_error")
    assert body["errors"] == [
        {
            "location": ["query", "limit"],
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]


@pytest.mark.parametrize("content", [b'{"amount": ', b"not json", b'{"amount": "1",}'])
def test_malformed_json_is_a_400(client: TestClient, content: bytes) -> None:
    response = client.post(
        "/v1/transfers", content=content, headers={"Content-Type": "application/json"}
    )
    body = problem_of(response, 400, "malformed_json")
    assert "character" in body["detail"]
    assert "errors" not in body


def test_unknown_path_is_not_found(client: TestClient) -> None:
    body = problem_of(client.get("/v1/nowhere"), 404, "not_found")
    assert body["instance"] == "/v1/nowhere"
    assert "detail" not in body  # Starlette's detail only repeats the status phrase


def test_wrong_method_is_method_not_allowed_and_keeps_allow(client: TestClient) -> None:
    response = client.delete("/v1/search")
    problem_of(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


def test_other_http_exceptions_are_http_error_with_the_status_phrase(client: TestClient) -> None:
    body = problem_of(client.get("/v1/forbidden"), 403, "http_error")
    assert (body["title"], body["detail"]) == ("Forbidden", "Operators only.")
    body = problem_of(client.get("/v1/teapot"), 418, "http_error")
    assert body["title"] == "I'm a Teapot"


def test_unhandled_exception_is_an_internal_error_that_leaks_nothing(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hazina.api.problems"):
        response = client.get("/v1/crash", headers={"X-Request-ID": "trace-500"})
    body = problem_of(response, 500, "internal_error")
    assert body["request_id"] == "trace-500"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "postgresql" not in response.text
    (record,) = [r for r in caplog.records if r.name == "hazina.api.problems"]
    assert "trace-500" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_without_the_request_id_middleware_problems_have_no_request_id() -> None:
    client = TestClient(build_app(with_request_ids=False), raise_server_exceptions=False)
    for path in ("/v1/nowhere", "/v1/crash"):
        response = client.get(path)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert "request_id" not in response.json()
        assert "x-request-id" not in response.headers


def test_problem_response_builds_the_body_in_order() -> None:
    response = problem_response(
        409, "conflict", "Conflict", instance="/v1/x", request_id="r1", existing="txn_1"
    )
    assert response.status_code == 409
    assert response.media_type == PROBLEM_JSON
    assert bytes(response.body) == (
        b'{"type":"https://hazina.dev/problems/conflict","title":"Conflict","status":409,'
        b'"instance":"/v1/x","code":"conflict","request_id":"r1","existing":"txn_1"}'
    )


@pytest.mark.parametrize(
    ("status", "code", "extensions"),
    [
        (200, "fine", {}),
        (302, "moved", {}),
        (600, "beyond", {}),
        (400, "Bad-Code", {}),
        (400, "", {}),
        (400, "bad_request", {"type": "about:blank"}),
    ],
)
def test_malformed_problems_are_bugs(status: int, code: str, extensions: dict[str, Any]) -> None:
    with pytest.raises(InvariantViolationError):
        problem_response(status, code, "Title", **extensions)
    with pytest.raises(InvariantViolationError):
        ProblemError(status, code, "Title", **extensions)


def test_an_extension_json_cannot_encode_is_a_bug_where_it_is_raised() -> None:
    with pytest.raises(InvariantViolationError):
        ProblemError(409, "conflict", "Conflict", cause=ValueError("not JSON"))


def test_openapi_documents_problem_json_with_the_problem_schema() -> None:
    app = build_app()
    schema = app.openapi()
    assert app.openapi() is schema  # cached, and the rewrite is idempotent
    for path, method in [("/v1/accounts/{account_id}", "get"), ("/v1/transfers", "post")]:
        responses = schema["paths"][path][method]["responses"]
        for status in ("400", "401", "403", "404", "409", "422", "429"):
            content = responses[status]["content"]
            assert content == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (path, status)
        retry_after = responses["429"]["headers"]["Retry-After"]
        assert retry_after["schema"]["type"] == "integer"
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code"} <= set(problem["required"])
    # FastAPI's default 422 body is replaced on routes that did not ask for problem responses.
    search_responses = schema["paths"]["/v1/search"]["get"]["responses"]
    assert search_responses["422"]["content"] == {
        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "ValidationError" not in schema["components"]["schemas"]


def test_openapi_gains_the_problem_schema_when_no_route_named_it() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    schema = app.openapi()
    content = schema["paths"]["/v1/items/{item_id}"]["get"]["responses"]["422"]["content"]
    assert content == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    components = schema["components"]["schemas"]
    assert set(components) == {"Problem", "ValidationIssue"}
    assert components["Problem"]["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/ValidationIssue"
    }
    assert set(PROBLEM_RESPONSES) == {400, 401, 403, 404, 409, 422, 429}
