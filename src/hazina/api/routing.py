"""Routes whose blocking endpoints cost one hop to the thread pool, not two, or none.

FastAPI runs a plain `def` endpoint in its thread pool and then, back on the event loop, hands
the response's validation and serialisation to the pool again. Each hop wakes a thread that
competes for the GIL with the ledger's committer thread, through which every payment passes.
`OneHopRoute` wraps such an endpoint in a coroutine that runs it in the pool once; FastAPI
then treats the endpoint as async and validates the response on the loop. Signatures,
dependencies and the OpenAPI document are unchanged (FastAPI reads the wrapped function's).

An endpoint marked with `on_loop_if(check)` skips the pool when `check(arguments)` holds: it
runs on the event loop's own thread (`kernel.loop_bridge`), suspended while the ledger's
committer runs its unit of work. That is for short endpoints whose only other blocking is
in-process reads (a payment on SQLite); anything else still goes to the pool.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from hazina.kernel.loop_bridge import run_on_loop

E = TypeVar("E", bound=Callable[..., Any])
OnLoopCheck = Callable[[Mapping[str, Any]], bool]

_on_loop_checks: dict[Callable[..., Any], OnLoopCheck] = {}


def on_loop_if(check: OnLoopCheck) -> Callable[[E], E]:
    """Mark a blocking endpoint to run on the event loop when `check(its arguments)` holds."""

    def mark(endpoint: E) -> E:
        _on_loop_checks[endpoint] = check
        return endpoint

    return mark


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` itself if it is a coroutine function, else a coroutine function that runs it
    in the thread pool (or on the loop, where it is marked so and its check holds)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint
    check = _on_loop_checks.get(endpoint)

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if check is not None and check(kwargs):
            return await run_on_loop(endpoint, *args, **kwargs)
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class OneHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_hop(endpoint), **kwargs)


def api_router(**kwargs: Any) -> APIRouter:
    """An `APIRouter` whose routes are `OneHopRoute`s."""
    return APIRouter(route_class=OneHopRoute, **kwargs)
