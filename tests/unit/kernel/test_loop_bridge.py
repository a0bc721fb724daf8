"""`loop_bridge`: blocking code on the event loop's thread, suspended where it waits."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
from collections.abc import Callable

import pytest

from hazina.kernel.loop_bridge import run_on_loop, running_loop, wait

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_the_work_runs_on_the_loops_thread_with_its_arguments() -> None:
    def work(a: int, *, b: int) -> tuple[int, str, bool]:
        return a + b, threading.current_thread().name, running_loop() is not None

    async def main() -> tuple[tuple[int, str, bool], str]:
        return await run_on_loop(work, 40, b=2), threading.current_thread().name

    (total, thread, bridged), loop_thread = asyncio.run(main())
    assert (total, bridged) == (42, True)
    assert thread == loop_thread
    assert running_loop() is None  # outside any work


def test_a_waiting_work_lets_the_loop_run_others_and_gets_the_futures_result() -> None:
    order: list[str] = []

    def work(future: asyncio.Future[int]) -> int:
        order.append("work waits")
        value = wait(future)  # the loop goes on meanwhile
        order.append("work resumes")
        return value * 2

    async def main() -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        pending = asyncio.ensure_future(run_on_loop(work, future))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        order.append("loop answers")
        # From another thread, as the ledger's committer answers.
        threading.Thread(target=loop.call_soon_threadsafe, args=(future.set_result, 21)).start()
        return await pending

    assert asyncio.run(main()) == 42
    assert order == ["work waits", "loop answers", "work resumes"]


def test_many_works_wait_at_once_on_one_thread() -> None:
    def work(future: asyncio.Future[int]) -> int:
        return wait(future) + 1

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(50)]
        works = [asyncio.ensure_future(run_on_loop(work, f)) for f in futures]
        await asyncio.sleep(0)
        for number, future in reversed(list(enumerate(futures))):  # answered out of order
            future.set_result(number)
        return await asyncio.gather(*works)

    assert asyncio.run(main()) == list(range(1, 51))


def test_a_failed_future_raises_inside_the_work_where_it_may_be_handled() -> None:
    def work(future: asyncio.Future[int]) -> str:
        try:
            wait(future)
        except KeyError as error:
            return f"handled {error}"
        return "not reached"

    async def main() -> str:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.set_exception(KeyError("k"))
        return await run_on_loop(work, future)

    assert asyncio.run(main()) == "handled 'k'"


def test_an_error_of_the_work_reaches_the_caller() -> None:
    def work(future: asyncio.Future[int]) -> int:
        wait(future)
        raise ValueError("refused after the wait")

    async def main() -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.set_result(1)
        await run_on_loop(work, future)

    with pytest.raises(ValueError, match="refused after the wait"):
        asyncio.run(main())


def test_wait_outside_a_work_is_an_error() -> None:
    async def main() -> None:
        wait(asyncio.get_running_loop().create_future())

    with pytest.raises(RuntimeError, match="run_on_loop"):
        asyncio.run(main())


def test_the_work_sees_the_callers_context_and_keeps_its_own_changes() -> None:
    def work() -> str:
        seen = request_id.get()
        request_id.set("changed inside")
        return seen

    async def main() -> tuple[str, str]:
        request_id.set("req-1")
        seen = await run_on_loop(work)
        return seen, request_id.get()

    assert asyncio.run(main()) == ("req-1", "req-1")


def test_a_cancelled_caller_leaves_the_work_running_to_its_end() -> None:
    done: list[str] = []

    def work(future: asyncio.Future[int]) -> int:
        value = wait(future)
        done.append("after the commit")  # e.g. counters updated once the payment committed
        return value

    async def main() -> None:
        await _cancel_the_caller_then_answer(work, 5, lambda: done == [])

    asyncio.run(main())
    assert done == ["after the commit"]


def test_an_error_after_the_caller_left_is_not_reported_as_never_retrieved() -> None:
    reported: list[dict[str, object]] = []

    def work(future: asyncio.Future[int]) -> int:
        wait(future)
        raise ValueError("after the caller left")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: reported.append(context))
        await _cancel_the_caller_then_answer(work, 1)

    asyncio.run(main())
    gc.collect()  # an unread task error is reported when the task is collected
    assert reported == []


async def _cancel_the_caller_then_answer(
    work: Callable[[asyncio.Future[int]], int],
    answer: int,
    before_the_answer: Callable[[], bool] = lambda: True,
) -> None:
    """Start `work`, cancel its caller while it waits, then answer its future and let the
    loop run it to its end."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    caller = asyncio.ensure_future(run_on_loop(work, future))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert before_the_answer()
    future.set_result(answer)
    for _ in range(5):
        await asyncio.sleep(0)
