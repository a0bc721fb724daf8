"""`OneHopRoute`: a blocking endpoint runs in the thread pool once per request, and FastAPI
still validates its response and documents it as before."""

import asyncio
import threading
from collections.abc import Mapping
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.exceptions import ResponseValidationError
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette import concurrency

from hazina.api.routing import OneHopRoute, api_router, on_loop_if, one_hop
from hazina.kernel.loop_bridge import running_loop, wait


class Out(BaseModel):
    value: int


def _app() -> tuple[FastAPI, list[str]]:
    app, threads, _ = _app_and_router()
    return app, threads


def _app_and_router() -> tuple[FastAPI, list[str], APIRouter]:
    threads: list[str] = []
    router = api_router(tags=["test"])

    def caller(x_name: Annotated[str, Header()]) -> str:
        return x_name

    @router.post("/echo/{number}", status_code=201, response_model=Out)
    def echo(number: int, name: Annotated[str, Depends(caller)]) -> Out:
        threads.append(threading.current_thread().name)
        return Out(value=number + len(name))

    @router.get("/broken", response_model=Out)
    def broken() -> dict[str, str]:
        return {"value": "not a number"}

    @router.get("/already-async", response_model=Out)
    async def already_async() -> Out:
        threads.append(threading.current_thread().name)
        return Out(value=7)

    app = FastAPI()
    app.include_router(router)
    return app, threads, router


def test_routes_are_one_hop_routes_with_unchanged_documentation() -> None:
    app, _, router = _app_and_router()
    assert len(router.routes) == 3
    assert all(isinstance(r, OneHopRoute) for r in router.routes)
    operation = app.openapi()["paths"]["/echo/{number}"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["number", "x-name"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Out"
    }


def test_a_blocking_endpoint_runs_in_the_pool_in_one_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    app, threads = _app()
    hops: list[str] = []
    original = concurrency.run_in_threadpool

    async def counted(function, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        hops.append(getattr(function, "__name__", repr(function)))
        return await original(function, *args, **kwargs)

    # Both FastAPI's own hops (dependencies, response validation) and ours go through it.
    monkeypatch.setattr(concurrency, "run_in_threadpool", counted)
    monkeypatch.setattr("fastapi.routing.run_in_threadpool", counted)
    monkeypatch.setattr("fastapi.dependencies.utils.run_in_threadpool", counted)
    monkeypatch.setattr("hazina.api.routing.run_in_threadpool", counted)
    with TestClient(app) as client:
        response = client.post("/echo/40", headers={"X-Name": "ab"})
    assert response.status_code == 201
    assert response.json() == {"value": 42}
    # The sync dependency still hops; the endpoint hops once and its response is validated on
    # the loop (a plain APIRoute would add a third hop, `field.validate`).
    assert hops == ["caller", "echo"]
    assert len(threads) == 1


def test_the_response_is_still_validated() -> None:
    app, _ = _app()
    with TestClient(app) as client, pytest.raises(ResponseValidationError):
        client.get("/broken")


def test_async_endpoints_are_left_alone() -> None:
    async def endpoint() -> int:
        return 1

    def blocking() -> int:
        return 1

    assert one_hop(endpoint) is endpoint
    wrapped = one_hop(blocking)
    assert wrapped is not blocking
    assert wrapped.__wrapped__ is blocking
    app, threads = _app()
    with TestClient(app) as client:
        assert client.get("/already-async").json() == {"value": 7}
        assert client.post("/echo/1", headers={"X-Name": "a"}).json() == {"value": 2}
    loop_thread, pool_thread = threads
    assert loop_thread != pool_thread  # the async one ran on the loop, the blocking one in the pool


def test_a_marked_endpoint_runs_on_the_loop_when_its_check_holds() -> None:
    threads: list[str] = []
    router = api_router()

    def in_process(arguments: Mapping[str, Any]) -> bool:
        return bool(arguments["fast"])

    @router.get("/where", response_model=Out)
    @on_loop_if(in_process)
    def where(fast: bool) -> Out:
        threads.append(threading.current_thread().name)
        # On the loop, waiting for another thread's answer suspends this work only.
        loop = running_loop()
        if loop is not None:
            future: asyncio.Future[int] = loop.create_future()
            threading.Thread(target=loop.call_soon_threadsafe, args=(future.set_result, 5)).start()
            return Out(value=wait(future))
        return Out(value=5)

    @router.get("/loop-thread")
    async def loop_thread() -> str:
        return threading.current_thread().name

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/where", params={"fast": True}).json() == {"value": 5}
        assert client.get("/where", params={"fast": False}).json() == {"value": 5}
        loop_name = client.get("/loop-thread").json()
    on_loop, in_pool = threads
    assert on_loop == loop_name
    assert in_pool != loop_name
    operation = app.openapi()["paths"]["/where"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["fast"]
