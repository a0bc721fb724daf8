"""The contact centre's hand-off queue: conversations the assistant passed to a person (low
confidence after a clarifying question, the customer asked, too many wrong PINs), with the
transcript; an operator claims one, answers in it, and resolves it (which closes it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hazina.api.routes_assist import assist_for, status_of_assist_error
from hazina.assist.service import AssistError, AssistService
from hazina.console.app import ConsoleRefusedError
from hazina.console.rendering import render
from hazina.console.routes_customers import parse_console_id
from hazina.console.security import Page, Viewer, checked_form, page_viewer, platform_of
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import assist_conversation_messages_max, console_page_rows_max

router = APIRouter(include_in_schema=False)
HandoffsViewer = Annotated[Viewer, page_viewer(Page.handoffs)]
_statuses = ("waiting", "claimed", "resolved")


def _assistant(request: Request) -> AssistService:
    return assist_for(request.app, platform_of(request))


@router.get("/handoffs", response_class=HTMLResponse)
def handoffs(
    request: Request,
    viewer: HandoffsViewer,
    status: Annotated[str, Query(pattern="^(|waiting|claimed|resolved)$")] = "waiting",
) -> Response:
    queue = _assistant(request).handoffs(status or None, 0, console_page_rows_max)
    return render(
        request,
        "handoffs.html",
        viewer,
        {"handoffs": queue, "status": status, "statuses": _statuses},
        page=Page.handoffs,
    )


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def handoff(request: Request, viewer: HandoffsViewer, handoff_id: str) -> Response:
    assistant = _assistant(request)
    try:
        found = assistant.handoff(parse_console_id("hof", handoff_id, "hand-off"))
    except AssistError as error:
        raise ConsoleRefusedError(status_of_assist_error[error.kind], error.message) from None
    messages = assistant.transcript(found.conversation_id, -1, assist_conversation_messages_max)
    return render(
        request,
        "handoff.html",
        viewer,
        {"handoff": found, "messages": messages},
        page=Page.handoffs,
    )


@router.post("/handoffs/{handoff_id}")
async def act_on_handoff(request: Request, viewer: HandoffsViewer, handoff_id: str) -> Response:
    """Claim, answer in, or resolve a hand-off (assist:write)."""
    form = await checked_form(request, viewer)
    viewer.require(Scope.assist_write, "working a hand-off")
    assistant = _assistant(request)
    identifier = parse_console_id("hof", handoff_id, "hand-off")
    action = str(form.get("action") or "")
    try:
        found = assistant.handoff(identifier)
        if action == "claim":
            assistant.claim(identifier, viewer.actor)
        elif action == "reply":
            assistant.reply_as_agent(
                found.conversation_id, str(form.get("text") or ""), viewer.actor
            )
        elif action == "resolve":
            assistant.resolve(identifier, viewer.actor)
        else:
            raise ConsoleRefusedError(422, "choose claim, reply or resolve")
    except AssistError as error:
        raise ConsoleRefusedError(status_of_assist_error[error.kind], error.message) from None
    platform_of(request).identity.record(
        viewer.actor, f"handoff.{action}", prefixed("hof", identifier)
    )
    return RedirectResponse(f"/console/handoffs/{prefixed('hof', identifier)}", status_code=303)
