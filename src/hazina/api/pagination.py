"""Cursor pagination: `limit` and `starting_after` in, `data`, `has_more`, `next_cursor` out.

Cursors, not offsets: an offset skips or repeats items when rows are inserted between two
requests, and makes the database count past every skipped row. A cursor is the opaque id of
the last item of the previous page, and the next page starts after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Final, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from hazina.api.problems import ProblemError
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import ledger_id_max, page_cursor_length_max, page_limit_max

Item = TypeVar("Item")

page_limit_default: Final = 50  # items per page when the client does not say


@dataclass(frozen=True, slots=True)
class PageParameters:
    """The query parameters of a list endpoint: `page: Annotated[PageParameters, Depends()]`."""

    limit: Annotated[
        int,
        Query(
            ge=1,
            le=page_limit_max,
            description=f"Items per page, 1 to {page_limit_max}.",
        ),
    ] = page_limit_default
    starting_after: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=page_cursor_length_max,
            description="The `next_cursor` of the previous page; leave out for the first page.",
        ),
    ] = None

    def __post_init__(self) -> None:
        # FastAPI has validated query input already; this guards construction from code.
        invariant(1 <= self.limit <= page_limit_max, "page limit out of range")
        invariant(
            self.starting_after is None or 1 <= len(self.starting_after) <= page_cursor_length_max,
            "page cursor length out of range",
        )


class Page(BaseModel, Generic[Item]):
    """One page of a list. Ask for the next with `starting_after=<next_cursor>`."""

    data: list[Item]
    has_more: bool = Field(description="Whether another page follows this one.")
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page; null on the last page."
    )


def page_from(
    items: list[Item],
    limit: int,
    cursor_of: Callable[[Item], str],
    *,
    limit_max: int = page_limit_max,
) -> Page[Item]:
    """Make a page from up to `limit + 1` fetched items; the extra one only says more follow.

    Fetching one more than asked answers `has_more` without a second count query. A list with
    pages of its own size (a statement's) passes its `limit_max`.
    """
    invariant(1 <= limit <= limit_max, "page limit out of range")
    invariant(len(items) <= limit + 1, "fetch at most one item more than the page holds")
    has_more = len(items) > limit
    data = items[:limit]
    next_cursor = cursor_of(data[-1]) if has_more else None
    page = Page[Item](data=data, has_more=has_more, next_cursor=next_cursor)
    invariant(len(page.data) <= limit, "a page holds at most its limit")
    return page


def numeric_cursor(starting_after: str | None) -> int:
    """The number in a numeric cursor (a statement's ledger timestamp, an audit entry's id),
    0 for the first page.

    Such cursors are 64-bit database integers, below `ledger_id_max`; a larger number is no
    cursor this API gave out (and the database could not even compare with it), so it is
    refused as `cursor_not_found`, as an id cursor that names nothing is.
    """
    if starting_after is None:
        return 0
    if not (starting_after.isascii() and starting_after.isdigit()):
        raise ProblemError(404, "cursor_not_found", "Not found", "a cursor here is a number")
    value = int(starting_after)
    if value >= ledger_id_max:
        raise ProblemError(
            404, "cursor_not_found", "Not found", f"cursor {starting_after!r} is out of range"
        )
    invariant(0 <= value < ledger_id_max, "a numeric cursor fits a database integer")
    return value
