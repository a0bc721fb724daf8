"""Blocking code run on the event loop itself, suspended (not blocked) where it waits.

A payment's endpoint is plain blocking code: it reads a few rows, then waits for the ledger's
committer thread to run its unit of work in a group commit, then shapes the answer. Run in a
thread pool, each request wakes a pool thread, which competes for the GIL with the event loop
and the committer; with dozens of requests in flight the hand-offs cost more CPU than the
endpoint itself. `run_on_loop` runs such code in a greenlet on the event loop's thread
instead: where it would wait for another thread it calls `wait(future)`, which switches back
to the loop until that asyncio future is done, so the loop serves other requests meanwhile.

Only for code whose other blocking is short (in-process reads, as on SQLite): a read over the
network would stall every request on the loop. Code that calls `wait` outside `run_on_loop`
gets an error; code that may run either way asks `running_loop()` first.

The work runs to its end even if the awaiting task is cancelled (a server shutting down): as
in a pool thread, what follows a commit (counters, caches) is not cut off half-way. The
awaiting task sees the cancellation once the work is done.

The same technique as SQLAlchemy's asyncio bridge (`greenlet_spawn`/`await_only`), reduced to
what Hazina needs.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet  # type: ignore[import-untyped]

T = TypeVar("T")


class _OnLoop(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running blocking code for `run_on_loop`; `driver` resumes the loop."""

    def __init__(
        self,
        run: Callable[..., Any],
        driver: greenlet.greenlet,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(run, driver)
        self.driver = driver
        self.loop = loop


async def run_on_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` on this event loop's thread, suspended at each `wait`."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(_drive(loop, function, args, kwargs))
    # If the caller is cancelled, nobody else reads the work's outcome: read it here, so that
    # asyncio does not report an error "never retrieved" (the work's own code handles it).
    task.add_done_callback(_outcome_read)
    # Shielded: a cancelled caller leaves the work running to its end (see the module).
    return await asyncio.shield(task)


def _outcome_read(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _drive(
    loop: asyncio.AbstractEventLoop,
    function: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> T:
    child = _OnLoop(function, greenlet.getcurrent(), loop)
    child.gr_context = contextvars.copy_context()  # as a pool thread gets the caller's
    step: Any = child.switch(*args, **kwargs)
    while not child.dead:
        # `step` is a future the work waits on: wait for it here, on the loop, and hand
        # its outcome back to the work.
        try:
            value = await step
        except BaseException:
            step = child.throw(*sys.exc_info())
        else:
            step = child.switch(value)
    result: T = step
    return result


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop whose `run_on_loop` is running the calling code, else None."""
    current = greenlet.getcurrent()
    return current.loop if isinstance(current, _OnLoop) else None


def wait(future: asyncio.Future[T]) -> T:
    """Suspend the calling work until `future` (of its loop) is done; its result or error."""
    current = greenlet.getcurrent()
    if not isinstance(current, _OnLoop):
        raise RuntimeError("wait() is for code started by run_on_loop")
    result: T = current.driver.switch(future)
    return result
