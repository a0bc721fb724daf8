"""The contact-centre assistant: conversations and messages (`conversations:write`), the hand-off
queue and the knowledge base (`assist:read`, `assist:write`), customer PINs
(`parties:write`), and the web chat widget at `/assist`. No business rules here.

The assistant service is built on first use for each platform (tenant), with one intent model
shared by all: `app.state.assist_model` when set, else the model `hazina assist train` saved
(`$HAZINA_ASSIST_MODEL`, default `var/models/assist`), else a small starter model.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hazina.api.app import Caller, Context, parse_id
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import PartyId, Strict, rfc3339
from hazina.assist.intents import describe
from hazina.assist.model import MODEL_FILE_NAME, IntentModel, ModelUnavailableError, load
from hazina.assist.service import (
    AssistError,
    AssistErrorKind,
    AssistService,
    Conversation,
    Exchange,
    HandOff,
    Message,
)
from hazina.assist.training import default_model_folder, starter_model
from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import assist_article_length_max, assist_page_max
from hazina.partners.errors import PartnersError
from hazina.partners.tenants import home_slug

logger = logging.getLogger(__name__)

router = api_router(tags=["assistant"])
page_router = api_router()

_lock = threading.Lock()
status_of_assist_error = {
    AssistErrorKind.not_found: 404,
    AssistErrorKind.conflict: 409,
    AssistErrorKind.invalid: 422,
}
_titles = {
    AssistErrorKind.not_found: "Not found",
    AssistErrorKind.conflict: "Conflicts with the current state",
    AssistErrorKind.invalid: "The request cannot be carried out",
}
MODEL_ENVIRONMENT_VARIABLE = "HAZINA_ASSIST_MODEL"


def _problem(error: AssistError) -> ProblemError:
    return ProblemError(
        status_of_assist_error[error.kind], error.code, _titles[error.kind], error.message
    )


@contextmanager
def _answering() -> Iterator[None]:
    """Turns the service's refusals into problem details."""
    try:
        yield
    except AssistError as error:
        raise _problem(error) from None


def _model_of(app: FastAPI) -> IntentModel:
    model: IntentModel | None = getattr(app.state, "assist_model", None)
    if model is not None:
        return model
    folder = Path(os.environ.get(MODEL_ENVIRONMENT_VARIABLE) or default_model_folder)
    if (folder / MODEL_FILE_NAME).exists():
        try:
            model = load(folder)
        except ModelUnavailableError as error:
            logger.warning("assistant: %s; using the starter model", error)
    if model is None:
        model = starter_model()
    app.state.assist_model = model
    return model


def assist_for(app: Any, platform: Platform) -> AssistService:
    """The assistant of one platform (tenant), built on first use and kept with it; one model
    for all. The operator console's hand-off queue uses it too."""

    def build(each: Platform) -> AssistService:
        with _lock:  # one model load, however many first requests race
            model = _model_of(app)
        return AssistService.on(each, model)

    return platform.service("assist", build)


def assist_of(context: Context) -> AssistService:
    return assist_for(context.request.app, context.platform)


# -- bodies ---------------------------------------------------------------------------------------


class ConversationCreate(Strict):
    customer: PartyId | None = Field(
        None, description="The customer the channel has identified (by phone or app login)."
    )
    channel: Literal["web", "app", "api", "ussd"] = "api"


class MessageCreate(BaseModel):
    """Any JSON value is accepted: what is not text gets a polite answer, not an error."""

    model_config = ConfigDict(extra="forbid")
    text: Any = Field(description="What the customer typed.", examples=["what is my balance"])


class AgentMessageCreate(Strict):
    text: str = Field(min_length=1, max_length=2_000)


class PinSet(Strict):
    pin: str = Field(pattern=r"^[0-9]{4,6}$", description="4 to 6 digits; stored hashed.")


class ArticleCreate(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["fees"])
    markdown: str = Field(
        min_length=1,
        max_length=assist_article_length_max,
        description="'# Title', optionally a line 'intents: a, b', then the text.",
    )


class ArticleUpdate(Strict):
    markdown: str = Field(min_length=1, max_length=assist_article_length_max)
    version: int | None = Field(
        None, ge=1, description="Replace only if the article is still at this version."
    )


class MessageOut(BaseModel):
    position: int
    role: Literal["customer", "assistant", "agent"]
    text: str = Field(description="As stored: PINs and digits next to 'PIN' are withheld.")
    intent: str | None
    confidence: float | None = Field(description="The intent model's probability, 0 to 1.")
    article: str | None = Field(description="The slug of the article the reply quotes.")
    at: str


class ConversationOut(BaseModel):
    id: str
    customer: str | None
    channel: str
    status: Literal["open", "handed_off", "closed"]
    authenticated: bool
    awaiting: Literal["message", "pin", "confirmation"]
    pending_action: str | None
    created_at: str
    updated_at: str


class HandOffOut(BaseModel):
    id: str
    conversation: str
    reason: str
    status: Literal["waiting", "claimed", "resolved"]
    assignee: str | None
    created_at: str
    updated_at: str


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]


class ExchangeOut(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut] = Field(description="The customer's message and the reply.")
    reply: str
    step: str = Field(description="What the assistant did: answer, clarify, hand_off, ...")
    handoff: HandOffOut | None


class HandOffDetailOut(HandOffOut):
    transcript: list[MessageOut]


class ArticleOut(BaseModel):
    slug: str
    title: str
    intents: list[str]
    markdown: str
    version: int
    updated_by: str
    updated_at: str


# -- rendering ------------------------------------------------------------------------------------


def message_out(message: Message) -> MessageOut:
    role: Any = message.role
    return MessageOut(
        position=message.position,
        role=role,
        text=message.body,
        intent=message.intent,
        confidence=message.confidence,
        article=message.article_slug,
        at=rfc3339(message.created_at_ns),
    )


def _conversation_fields(conversation: Conversation) -> dict[str, object]:
    return {
        "id": prefixed("cnv", conversation.id),
        "customer": None
        if conversation.party_id is None
        else prefixed("pty", conversation.party_id),
        "channel": conversation.channel,
        "status": conversation.status,
        "authenticated": conversation.authenticated,
        "awaiting": conversation.awaiting.value,
        "pending_action": None
        if conversation.pending_action is None
        else describe(conversation.pending_action.value),
        "created_at": rfc3339(conversation.created_at_ns),
        "updated_at": rfc3339(conversation.updated_at_ns),
    }


def conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut.model_validate(_conversation_fields(conversation))


def handoff_out(handoff: HandOff) -> HandOffOut:
    return HandOffOut.model_validate(_handoff_fields(handoff))


def _handoff_fields(handoff: HandOff) -> dict[str, object]:
    return {
        "id": prefixed("hof", handoff.id),
        "conversation": prefixed("cnv", handoff.conversation_id),
        "reason": handoff.reason.value,
        "status": handoff.status,
        "assignee": handoff.assignee,
        "created_at": rfc3339(handoff.created_at_ns),
        "updated_at": rfc3339(handoff.updated_at_ns),
    }


def exchange_out(exchange: Exchange) -> ExchangeOut:
    return ExchangeOut(
        conversation=conversation_out(exchange.conversation),
        messages=[message_out(m) for m in exchange.messages],
        reply=exchange.messages[-1].body,
        step=exchange.step.value,
        handoff=None if exchange.hand_off is None else handoff_out(exchange.hand_off),
    )


# -- conversations --------------------------------------------------------------------------------


@router.post("/assist/conversations", status_code=201, response_model=ExchangeOut)
def start_conversation(context: Caller, body: ConversationCreate) -> ExchangeOut:
    """Open a conversation; the reply is the assistant's greeting."""
    context.require(Scope.conversations_write)
    party = None if body.customer is None else parse_id("pty", body.customer, "party")
    with _answering():
        exchange = assist_of(context).start(party, body.channel, context.actor)
    return exchange_out(exchange)


@router.get("/assist/conversations/{conversation_id}", response_model=ConversationDetailOut)
def get_conversation(
    context: Caller,
    conversation_id: str,
    after: Annotated[
        int, Query(ge=-1, le=10_000, description="Messages after this position.")
    ] = -1,
) -> ConversationDetailOut:
    """The conversation and its transcript (a page of it, oldest first)."""
    context.require(Scope.conversations_write)
    service = assist_of(context)
    identifier = parse_id("cnv", conversation_id, "conversation")
    with _answering():
        conversation = service.conversation(identifier)
        messages = service.transcript(identifier, after, assist_page_max)
    return ConversationDetailOut.model_validate(
        {**_conversation_fields(conversation), "messages": [message_out(m) for m in messages]}
    )


@router.post("/assist/conversations/{conversation_id}/messages", response_model=ExchangeOut)
def send_message(context: Caller, conversation_id: str, body: MessageCreate) -> ExchangeOut:
    """The customer's message and the assistant's reply. Nothing that moves or blocks money
    happens without the customer's explicit 'yes' to a question the assistant asked."""
    context.require(Scope.conversations_write)
    identifier = parse_id("cnv", conversation_id, "conversation")
    with _answering():
        exchange = assist_of(context).send(identifier, body.text)
    return exchange_out(exchange)


@router.post("/assist/conversations/{conversation_id}/close", response_model=ConversationOut)
def close_conversation(context: Caller, conversation_id: str) -> ConversationOut:
    context.require(Scope.conversations_write)
    identifier = parse_id("cnv", conversation_id, "conversation")
    with _answering():
        return conversation_out(assist_of(context).close(identifier))


@router.post(
    "/assist/conversations/{conversation_id}/agent-messages",
    status_code=201,
    response_model=MessageOut,
)
def agent_message(context: Caller, conversation_id: str, body: AgentMessageCreate) -> MessageOut:
    """A person answers in a conversation the assistant handed off."""
    context.require(Scope.assist_write)
    identifier = parse_id("cnv", conversation_id, "conversation")
    with _answering():
        message = assist_of(context).reply_as_agent(identifier, body.text, context.actor)
    return message_out(message)


# -- PINs -----------------------------------------------------------------------------------------


@router.put("/assist/customers/{party_id}/pin", status_code=204, response_class=Response)
def set_pin(context: Caller, party_id: str, body: PinSet) -> Response:
    """Give a customer the PIN the assistant checks before acting (argon2id-hashed)."""
    context.require(Scope.parties_write)
    identifier = parse_id("pty", party_id, "party")
    with _answering():
        assist_of(context).set_pin(identifier, body.pin, context.actor)
    return Response(status_code=204)


# -- the hand-off queue ---------------------------------------------------------------------------


@router.get("/assist/handoffs", response_model=Page[HandOffOut])
def list_handoffs(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    status: Literal["waiting", "claimed", "resolved"] | None = None,
) -> Page[HandOffOut]:
    """Conversations waiting for (or taken by) a person, oldest first."""
    context.require(Scope.assist_read)
    after = 0 if page.starting_after is None else parse_id("hof", page.starting_after, "cursor")
    limit = min(page.limit, assist_page_max)
    found = assist_of(context).handoffs(
        status, after, limit + 1 if limit < assist_page_max else limit
    )
    return page_from(
        [handoff_out(h) for h in found], limit, lambda item: item.id, limit_max=assist_page_max
    )


@router.get("/assist/handoffs/{handoff_id}", response_model=HandOffDetailOut)
def get_handoff(context: Caller, handoff_id: str) -> HandOffDetailOut:
    """A hand-off with the conversation's transcript."""
    context.require(Scope.assist_read)
    service = assist_of(context)
    with _answering():
        handoff = service.handoff(parse_id("hof", handoff_id, "handoff"))
        transcript = service.transcript(handoff.conversation_id, -1, assist_page_max)
    return HandOffDetailOut.model_validate(
        {**_handoff_fields(handoff), "transcript": [message_out(m) for m in transcript]}
    )


@router.post("/assist/handoffs/{handoff_id}/claim", response_model=HandOffOut)
def claim_handoff(context: Caller, handoff_id: str) -> HandOffOut:
    context.require(Scope.assist_write)
    with _answering():
        handoff = assist_of(context).claim(parse_id("hof", handoff_id, "handoff"), context.actor)
    return handoff_out(handoff)


@router.post("/assist/handoffs/{handoff_id}/resolve", response_model=HandOffOut)
def resolve_handoff(context: Caller, handoff_id: str) -> HandOffOut:
    """Done: the hand-off is resolved and its conversation closed."""
    context.require(Scope.assist_write)
    with _answering():
        handoff = assist_of(context).resolve(parse_id("hof", handoff_id, "handoff"), context.actor)
    return handoff_out(handoff)


# -- the knowledge base ---------------------------------------------------------------------------


def article_out(article: Any) -> ArticleOut:
    return ArticleOut(
        slug=article.slug,
        title=article.title,
        intents=list(article.intents),
        markdown=article.markdown,
        version=article.version,
        updated_by=article.updated_by,
        updated_at=rfc3339(article.updated_at_ns),
    )


@router.get("/assist/articles", response_model=list[ArticleOut])
def list_articles(context: Caller) -> list[ArticleOut]:
    context.require(Scope.assist_read)
    return [article_out(article) for article in assist_of(context).articles()]


@router.get("/assist/articles/{slug}", response_model=ArticleOut)
def get_article(context: Caller, slug: str) -> ArticleOut:
    context.require(Scope.assist_read)
    with _answering():
        return article_out(assist_of(context).get_article(slug))


@router.post("/assist/articles", status_code=201, response_model=ArticleOut)
def create_article(context: Caller, body: ArticleCreate) -> ArticleOut:
    context.require(Scope.assist_write)
    with _answering():
        article = assist_of(context).save_article(
            body.slug, body.markdown, context.actor, create=True
        )
    return article_out(article)


@router.put("/assist/articles/{slug}", response_model=ArticleOut)
def update_article(context: Caller, slug: str, body: ArticleUpdate) -> ArticleOut:
    context.require(Scope.assist_write)
    with _answering():
        article = assist_of(context).save_article(
            slug, body.markdown, context.actor, create=False, version=body.version
        )
    return article_out(article)


# -- the web widget -------------------------------------------------------------------------------


@page_router.get("/assist", include_in_schema=False, response_class=HTMLResponse)
def widget(
    request: Request,
    tenant: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z][a-z0-9-]{1,31}$")] = None,
) -> HTMLResponse:
    """A minimal chat page over the API above; everything it needs is in this one file. With
    `?tenant=slug`, in that operator's brand (name and colour) and talking to its data."""
    page = (resources.files("hazina.assist") / "widget.html").read_text(encoding="utf-8")
    if tenant is not None and tenant != home_slug:
        try:
            brand = request.app.state.partners.tenants.get(tenant).brand
        except PartnersError as error:
            raise ProblemError(error.status, error.code, "Not found", error.message) from None
        page = (
            page.replace("Hazina assistant", f"{escape(brand.display_name)} assistant")
            .replace(_widget_colour, brand.primary_colour)  # checked as #rrggbb on entry
            .replace('<meta name="hazina-tenant" content="">',
                     f'<meta name="hazina-tenant" content="{tenant}">')
        )  # fmt: skip
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


_widget_colour = "#0b6e4f"
