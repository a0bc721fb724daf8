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

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import page_cursor_length_max, page_limit_max

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


def page_from(items: list[Item], limit: int, cursor_of: Callable[[Item], str]) -> Page[Item]:
    """Make a page from up to `limit + 1` fetched items; the extra one only says more follow.

    Fetching one more than asked answers `has_more` without a second count query.
    """
    invariant(1 <= limit <= page_limit_max, "page limit out of range")
    invariant(len(items) <= limit + 1, "fetch at most one item more than the page holds")
    has_more = len(items) > limit
    data = items[:limit]
    next_cursor = cursor_of(data[-1]) if has_more else None
    page = Page[Item](data=data, has_more=has_more, next_cursor=next_cursor)
    invariant(len(page.data) <= limit, "a page holds at most its limit")
    return page
