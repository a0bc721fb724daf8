"""Cursor pagination: query parameters as a dependency, and pages built from limit + 1 rows."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from hazina.api.pagination import Page, PageParameters, page_from, page_limit_default
from hazina.api.problems import install_problem_handlers
from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import page_cursor_length_max, page_limit_max
from tests.unit.api.client import TestClient


class Account(BaseModel):
    id: str
    name: str


ACCOUNTS = [Account(id=f"acc_{number:02d}", name=f"Account {number}") for number in range(1, 8)]


def account_id(account: Account) -> str:
    return account.id


@pytest.mark.parametrize(
    ("fetched", "limit", "ids", "has_more", "next_cursor"),
    [
        (0, 3, [], False, None),
        (2, 3, ["acc_01", "acc_02"], False, None),
        (3, 3, ["acc_01", "acc_02", "acc_03"], False, None),
        (4, 3, ["acc_01", "acc_02", "acc_03"], True, "acc_03"),
        (1, 1, ["acc_01"], False, None),
        (2, 1, ["acc_01"], True, "acc_01"),
    ],
)
def test_page_from_uses_the_extra_item_only_to_say_more_follow(
    fetched: int, limit: int, ids: list[str], has_more: bool, next_cursor: str | None
) -> None:
    page = page_from(ACCOUNTS[:fetched], limit, account_id)
    assert [account.id for account in page.data] == ids
    assert page.has_more is has_more
    assert page.next_cursor == next_cursor


@pytest.mark.parametrize(("fetched", "limit"), [(5, 3), (1, 0), (0, page_limit_max + 1)])
def test_page_from_refuses_what_a_caller_should_never_pass(fetched: int, limit: int) -> None:
    with pytest.raises(InvariantViolationError):
        page_from(ACCOUNTS[:fetched], limit, account_id)


def test_page_parameters_refuse_out_of_range_values_built_in_code() -> None:
    assert PageParameters() == PageParameters(limit=page_limit_default, starting_after=None)
    with pytest.raises(InvariantViolationError):
        PageParameters(limit=0)
    with pytest.raises(InvariantViolationError):
        PageParameters(starting_after="")


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/accounts", response_model=Page[Account])
    async def list_accounts(page: Annotated[PageParameters, Depends()]) -> Page[Account]:
        # What a store would do: rows after the cursor, in id order, one more than the limit.
        after = [a for a in ACCOUNTS if page.starting_after is None or a.id > page.starting_after]
        return page_from(after[: page.limit + 1], page.limit, account_id)

    return app


def test_walking_every_page_visits_every_item_once() -> None:
    client = TestClient(build_app())
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor is not None:
            params["starting_after"] = cursor
        response = client.get("/v1/accounts", params=params)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"data", "has_more", "next_cursor"}
        seen += [account["id"] for account in body["data"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert seen == [account.id for account in ACCOUNTS]
    assert pages == 3


def test_the_default_limit_applies_when_none_is_given() -> None:
    body = TestClient(build_app()).get("/v1/accounts").json()
    assert len(body["data"]) == min(len(ACCOUNTS), page_limit_default)
    assert body["has_more"] is False


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": page_limit_max + 1}, ["query", "limit"]),
        ({"limit": "ten"}, ["query", "limit"]),
        ({"starting_after": "x" * (page_cursor_length_max + 1)}, ["query", "starting_after"]),
        ({"starting_after": ""}, ["query", "starting_after"]),
    ],
)
def test_out_of_range_parameters_are_validation_problems(
    params: dict[str, str | int], location: list[str]
) -> None:
    response = TestClient(build_app()).get("/v1/accounts", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert [issue["location"] for issue in body["errors"]] == [location]


def test_the_parameters_are_documented_as_query_parameters() -> None:
    operation = build_app().openapi()["paths"]["/v1/accounts"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"limit", "starting_after"}
    assert parameters["limit"]["in"] == "query"
    limit_schema = parameters["limit"]["schema"]
    assert (limit_schema["minimum"], limit_schema["maximum"]) == (1, page_limit_max)
    assert limit_schema["default"] == page_limit_default
    assert parameters["starting_after"]["required"] is False
