"""Routes whose blocking endpoints cost one hop to the thread pool, not two.

FastAPI runs a plain `def` endpoint in its thread pool and then, back on the event loop, hands
the response's validation and serialisation to the pool again. Each hop wakes a thread that
competes for the GIL with the ledger's committer thread, through which every payment passes.
`OneHopRoute` wraps such an endpoint in a coroutine that runs it in the pool once; FastAPI
then treats the endpoint as async and validates the response on the loop. Signatures,
dependencies and the OpenAPI document are unchanged (FastAPI reads the wrapped function's).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` itself if it is a coroutine function, else a coroutine function that runs it
    in the thread pool."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class OneHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_hop(endpoint), **kwargs)


def api_router(**kwargs: Any) -> APIRouter:
    """An `APIRouter` whose routes are `OneHopRoute`s."""
    return APIRouter(route_class=OneHopRoute, **kwargs)
