"""Errors as RFC 9457 problem details (`application/problem+json`) with a stable `code`.

Routes raise `ProblemError`; `install_problem_handlers` turns it, request validation failures,
HTTP exceptions and unhandled exceptions into the same shape, so a client needs one parser for
every failure. The `type` URI is derived from the `code`, and the `title` is fixed per code, as
RFC 9457 asks: only `detail` and the extensions vary from one occurrence to the next.
"""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from hazina.kernel.invariant import InvariantViolationError, invariant

logger = logging.getLogger(__name__)

_Handled = TypeVar("_Handled", bound=Exception)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://hazina.dev/problems/"
REQUEST_ID_HEADER: Final = "X-Request-ID"

# Members the problem format itself defines; an extension may not overwrite them, or a client
# could no longer trust `status` or `code`.
_reserved_members: Final = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id"}
)
_code_pattern: Final = re.compile(r"[a-z][a-z0-9_]*")

# The generic codes this module answers with, and their fixed titles.
VALIDATION_ERROR_TITLE: Final = "The request is not valid"
MALFORMED_JSON_TITLE: Final = "The request body is not valid JSON"
NOT_FOUND_TITLE: Final = "Not found"
METHOD_NOT_ALLOWED_TITLE: Final = "Method not allowed"
INTERNAL_ERROR_TITLE: Final = "Internal server error"


class ProblemError(Exception):
    """A failure to answer with a problem response; raise it from a route or dependency."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: object,
    ) -> None:
        _check_problem(status, code, extensions)
        # Found here, an extension JSON cannot encode points at the line that raised; found
        # while answering, it would only turn this problem into an internal error.
        try:
            orjson.dumps(extensions)
        except TypeError:
            invariant(False, f"problem {code!r} has an extension that JSON cannot encode")
        super().__init__(f"{status} {code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = dict(headers) if headers is not None else None
        self.extensions = extensions


class ValidationIssue(BaseModel):
    """One reason a request failed validation."""

    location: list[str | int] = Field(
        description='Where in the request, e.g. ["body", "amount"] or ["query", "limit"].'
    )
    message: str
    type: str = Field(description="A stable machine-readable kind, e.g. `missing`.")


class Problem(BaseModel):
    """An RFC 9457 problem details object; further members may carry details of one code."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://hazina.dev/problems/not_found",
                    "title": NOT_FOUND_TITLE,
                    "status": 404,
                    "instance": "/v1/accounts/acc_000000000000002a",
                    "code": "not_found",
                    "request_id": "req_4f0c1d2e3a4b5c6d7e8f901a2b3c4d5e",
                }
            ]
        },
    )

    type: str = Field(description="A URI naming the problem: https://hazina.dev/problems/<code>.")
    title: str = Field(description="A short summary, the same for every occurrence of a code.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(default=None, description="This occurrence, for humans.")
    instance: str | None = Field(default=None, description="The path of the request.")
    code: str = Field(description="A stable machine-readable code; branch on this.")
    request_id: str | None = Field(default=None, description="Quote it when asking for help.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Only for `validation_error`: every reason, not just the first."
    )


class ProblemJSONResponse(Response):
    """A problem details body rendered with orjson, which is several times faster than json."""

    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    request_id: str | None = None,
    **extensions: object,
) -> Response:
    """Build an `application/problem+json` response; absent optional members are left out."""
    _check_problem(status, code, extensions)
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body["code"] = code
    if request_id is not None:
        body["request_id"] = request_id
    body.update(extensions)
    response = ProblemJSONResponse(body, status_code=status, headers=headers)
    invariant(response.status_code == status, "a problem response keeps its status")
    return response


def _check_problem(status: int, code: str, extensions: Mapping[str, object]) -> None:
    invariant(400 <= status <= 599, "a problem has a client or server error status")
    invariant(_code_pattern.fullmatch(code) is not None, "a problem code is lower_snake_case")
    invariant(
        _reserved_members.isdisjoint(extensions), "an extension must not replace a standard member"
    )


def request_id_of(scope: Scope) -> str | None:
    """The id `RequestIdMiddleware` gave this request, or None when it is not installed."""
    state = scope.get("state")
    if not isinstance(state, dict):
        return None
    request_id = state.get("request_id")
    return request_id if isinstance(request_id, str) else None


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every failure of `app` as a problem, and document problems in its OpenAPI."""
    app.add_exception_handler(ProblemError, _handle_problem_error)
    app.add_exception_handler(RequestValidationError, _handle_request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unhandled_exception)
    _document_problem_media_type(app)


async def _handle_problem_error(request: Request, exception: Exception) -> Response:
    problem = _registered_for(exception, ProblemError)
    return problem_response(
        problem.status,
        problem.code,
        problem.title,
        problem.detail,
        instance=request.url.path,
        headers=problem.headers,
        request_id=request_id_of(request.scope),
        **problem.extensions,
    )


async def _handle_request_validation_error(request: Request, exception: Exception) -> Response:
    errors = _registered_for(exception, RequestValidationError).errors()
    malformed = next((error for error in errors if _is_json_decode_error(error)), None)
    if malformed is not None:
        position = malformed["loc"][1]
        return problem_response(
            400,
            "malformed_json",
            MALFORMED_JSON_TITLE,
            f"The body could not be decoded as JSON at character {position}.",
            instance=request.url.path,
            request_id=request_id_of(request.scope),
        )
    issues = [_json_safe_issue(error) for error in errors]
    return problem_response(
        422,
        "validation_error",
        VALIDATION_ERROR_TITLE,
        f"{len(issues)} problem(s) with the request; see `errors`.",
        instance=request.url.path,
        request_id=request_id_of(request.scope),
        errors=issues,
    )


def _is_json_decode_error(error: Mapping[str, Any]) -> bool:
    # FastAPI reports an undecodable body as a validation error of type `json_invalid` at
    # ("body", <character position>); a `Json[...]` field that fails has a field name there
    # instead, and is an ordinary validation error of one field.
    location = error.get("loc", ())
    return (
        error.get("type") == "json_invalid"
        and len(location) == 2
        and location[0] == "body"
        and isinstance(location[1], int)
    )


def _json_safe_issue(error: Mapping[str, Any]) -> dict[str, object]:
    # Pydantic's raw errors carry `input` (which may echo secrets back) and `ctx` (which may hold
    # exception objects that JSON cannot encode); keep only what a client needs, as plain types.
    location: Sequence[object] = error.get("loc", ())
    return {
        "location": [part if isinstance(part, int | str) else str(part) for part in location],
        "message": str(error.get("msg", "")),
        "type": str(error.get("type", "")),
    }


async def _handle_http_exception(request: Request, exception: Exception) -> Response:
    http_exception = _registered_for(exception, StarletteHTTPException)
    status = http_exception.status_code
    if status < 400:
        # A redirect or "not modified" raised as an exception is not a failure and may not
        # carry a body (RFC 9110 for 204 and 304), so it goes out as it came.
        return Response(status_code=status, headers=http_exception.headers)
    phrase = _status_phrase(status)
    # Starlette fills an empty detail with the status phrase; repeating the title says nothing.
    raw_detail = http_exception.detail
    detail = raw_detail if isinstance(raw_detail, str) and raw_detail != phrase else None
    if status == 404:
        code, title = "not_found", NOT_FOUND_TITLE
    elif status == 405:
        code, title = "method_not_allowed", METHOD_NOT_ALLOWED_TITLE
    else:
        code, title = "http_error", phrase
    return problem_response(
        status,
        code,
        title,
        detail,
        instance=request.url.path,
        headers=http_exception.headers,
        request_id=request_id_of(request.scope),
    )


async def _handle_unhandled_exception(request: Request, exception: Exception) -> Response:
    request_id = request_id_of(request.scope)
    logger.error(
        "unhandled exception answering %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exception,
    )
    # Starlette runs this handler outside every user middleware, so RequestIdMiddleware never
    # sees this response: the id is echoed here instead.
    headers = {REQUEST_ID_HEADER: request_id} if request_id is not None else None
    return problem_response(
        500,
        "internal_error",
        INTERNAL_ERROR_TITLE,
        "The server failed to answer; quote the request id when reporting it.",
        instance=request.url.path,
        headers=headers,
        request_id=request_id,
    )


def _registered_for(exception: Exception, kind: type[_Handled]) -> _Handled:
    # Starlette types every handler as taking any Exception; this narrows it without `assert`.
    if isinstance(exception, kind):
        return exception
    raise InvariantViolationError(
        f"a handler for {kind.__name__} was given {type(exception).__name__}"
    )


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _problem_documentation(description: str) -> dict[str, Any]:
    # FastAPI files a response `model` under the route's own media type (application/json); the
    # problem media type is declared beside it and `install_problem_handlers` moves the schema
    # over once the spec is built, so the document names the media type clients will receive.
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: _problem_documentation("Malformed request, such as a body that is not JSON."),
    401: _problem_documentation("Missing or invalid credentials."),
    403: _problem_documentation("The credentials do not allow this."),
    404: _problem_documentation("No such resource."),
    409: _problem_documentation("Conflicts with the current state or an earlier request."),
    422: _problem_documentation("The request is well-formed but not valid."),
    429: {
        **_problem_documentation("Too many requests; wait `Retry-After` seconds."),
        "headers": {
            "Retry-After": {
                "description": "Whole seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}


def _document_problem_media_type(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi_with_problem_media_type() -> dict[str, Any]:
        schema = build_openapi()  # cached by FastAPI; the rewrite below is idempotent
        _rewrite_problem_documentation(schema)
        return schema

    app.openapi = openapi_with_problem_media_type  # type: ignore[method-assign]


_schema_reference_base: Final = "#/components/schemas/"
_fastapi_validation_reference: Final = {"$ref": _schema_reference_base + "HTTPValidationError"}


def _rewrite_problem_documentation(schema: dict[str, Any]) -> None:
    # Two fixes so the document matches what is sent, which tools such as schemathesis check:
    # problem responses move to their own media type, and FastAPI's default 422 body (which these
    # handlers replace on every route) becomes a problem too.
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_needed = False
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                    # FastAPI's own reference is right even when it had to rename the model.
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
                elif content.get("application/json", {}).get("schema") == (
                    _fastapi_validation_reference
                ):
                    del content["application/json"]
                    content[PROBLEM_MEDIA_TYPE] = {
                        "schema": {"$ref": _schema_reference_base + "Problem"}
                    }
                    problem_needed = True
    if problem_needed and "Problem" not in components:
        problem_schema = Problem.model_json_schema(
            ref_template=_schema_reference_base + "{model}", mode="serialization"
        )
        components.update(problem_schema.pop("$defs", {}))
        components["Problem"] = problem_schema
    # In this order: HTTPValidationError is what refers to ValidationError.
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"{_schema_reference_base}{unused}"'.encode() not in orjson.dumps(schema):
            components.pop(unused, None)
