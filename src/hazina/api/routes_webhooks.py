"""Webhook routes under /v1/webhooks: a caller's subscriptions (create, list, read, delete, rotate
the signing secret) and its delivery log (list, read with every attempt, redeliver).

Everything belongs to the caller (its API principal): another caller's subscription or
delivery answers 404, as one that does not exist. Reading needs `webhooks:read`, changing
needs `webhooks:write`. No business rules here: `hazina.partners.webhooks` holds them.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from pydantic import BaseModel, Field

from hazina.api.app import Caller, Context, parse_id
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.routing import api_router
from hazina.api.schemas import Strict, rfc3339
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import (
    webhook_description_length_max,
    webhook_event_types_max,
    webhook_url_length_max,
)
from hazina.partners.webhooks import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Subscription,
    WebhookService,
    WebhookServices,
    event_id,
    read_scopes_needed,
)

router = api_router(tags=["webhooks"])

_services_lock = threading.Lock()


def webhooks_of(context: Context) -> WebhookService:
    """The webhook service of the caller's platform (tenant)."""
    return webhook_services(context.request.app.state).of(context.platform)


def webhook_services(state: Any) -> WebhookServices:
    """The application's webhook services (`state` is the app's), made on first use."""
    with _services_lock:
        services: WebhookServices | None = getattr(state, "webhooks", None)
        if services is None:
            services = state.webhooks = WebhookServices()
        return services


# -- bodies ---------------------------------------------------------------------------------------

EventType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$",
        examples=["transaction.completed", "transaction.*"],
    ),
]


class SubscriptionCreate(Strict):
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=webhook_url_length_max,
            description="Your endpoint: an https URL of a public host.",
            examples=["https://partner.example/hooks/hazina"],
        ),
    ]
    event_types: Annotated[
        list[EventType],
        Field(
            min_length=1,
            max_length=webhook_event_types_max,
            description="Exact event types, prefix wildcards such as `transaction.*`, or `*`.",
        ),
    ]
    description: Annotated[str, Field(max_length=webhook_description_length_max)] = ""


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str
    created_at: str
    updated_at: str


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(
        description="The signing secret (`whsec_` and base64). Shown only here: keep it."
    )


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: str | None = Field(description="When it is tried next; null unless pending.")
    created_at: str
    updated_at: str
    delivered_at: str | None


class AttemptOut(BaseModel):
    number: int
    at: str
    status_code: int | None = Field(description="The endpoint's HTTP status; null if none came.")
    error: str | None = Field(description="Why no answer came: timeout, connection error...")
    response: str = Field(description="The start of the endpoint's response body.")
    duration_ms: int


class DeliveryDetailOut(DeliveryOut):
    payload: dict[str, Any] = Field(description="The JSON body as sent (and signed).")
    attempt_log: list[AttemptOut]


def _subscription_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=prefixed("whs", subscription.id),
        url=subscription.url,
        event_types=list(subscription.event_types),
        description=subscription.description,
        created_at=rfc3339(subscription.created_at_ns),
        updated_at=rfc3339(subscription.updated_at_ns),
    )


def _with_secret(subscription: Subscription, secret: str) -> SubscriptionWithSecret:
    return SubscriptionWithSecret(**_subscription_out(subscription).model_dump(), secret=secret)


def _delivery_fields(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": prefixed("whd", delivery.id),
        "subscription_id": prefixed("whs", delivery.subscription_id),
        "event_id": event_id(delivery.event_id),
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": None
        if delivery.next_attempt_at_ns is None
        else rfc3339(delivery.next_attempt_at_ns),
        "created_at": rfc3339(delivery.created_at_ns),
        "updated_at": rfc3339(delivery.updated_at_ns),
        "delivered_at": None
        if delivery.delivered_at_ns is None
        else rfc3339(delivery.delivered_at_ns),
    }


def _attempt_out(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        number=attempt.number,
        at=rfc3339(attempt.at_ns),
        status_code=attempt.status_code,
        error=attempt.error,
        response=attempt.response,
        duration_ms=attempt.duration_ms,
    )


def _subscription_id(text: str) -> int:
    return parse_id("whs", text, "subscription")


def _delivery_id(text: str) -> int:
    return parse_id("whd", text, "delivery")


# -- subscriptions --------------------------------------------------------------------------------


@router.post("/webhooks/subscriptions", status_code=201, response_model=SubscriptionWithSecret)
def create_subscription(body: SubscriptionCreate, context: Caller) -> SubscriptionWithSecret:
    """Subscribe an endpoint to event types; the answer holds the signing secret, once."""
    context.require(Scope.webhooks_write)
    for scope in sorted(read_scopes_needed(body.event_types)):
        context.require(Scope(scope))  # no more through webhooks than through the API
    subscription, secret = webhooks_of(context).subscribe(
        context.actor, body.url, body.event_types, body.description
    )
    return _with_secret(subscription, secret)


@router.get("/webhooks/subscriptions", response_model=Page[SubscriptionOut])
def list_subscriptions(
    context: Caller, page: Annotated[PageParameters, Depends()]
) -> Page[SubscriptionOut]:
    """The caller's subscriptions, oldest first."""
    context.require(Scope.webhooks_read)
    after = 0 if page.starting_after is None else parse_id("whs", page.starting_after, "cursor")
    found = webhooks_of(context).list_subscriptions(context.actor, after, page.limit + 1)
    return page_from([_subscription_out(s) for s in found], page.limit, lambda s: s.id)


@router.get("/webhooks/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(subscription_id: str, context: Caller) -> SubscriptionOut:
    context.require(Scope.webhooks_read)
    return _subscription_out(
        webhooks_of(context).get_subscription(context.actor, _subscription_id(subscription_id))
    )


@router.delete(
    "/webhooks/subscriptions/{subscription_id}", status_code=204, response_class=Response
)
def delete_subscription(subscription_id: str, context: Caller) -> Response:
    """Stop a subscription: nothing more is sent; deliveries not yet made are cancelled."""
    context.require(Scope.webhooks_write)
    webhooks_of(context).delete_subscription(context.actor, _subscription_id(subscription_id))
    return Response(status_code=204)


@router.post(
    "/webhooks/subscriptions/{subscription_id}/secret", response_model=SubscriptionWithSecret
)
def rotate_secret(subscription_id: str, context: Caller) -> SubscriptionWithSecret:
    """A new signing secret, shown once; the old one also signs for 24 hours."""
    context.require(Scope.webhooks_write)
    subscription, secret = webhooks_of(context).rotate_secret(
        context.actor, _subscription_id(subscription_id)
    )
    return _with_secret(subscription, secret)


# -- the delivery log -----------------------------------------------------------------------------


@router.get("/webhooks/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    status: DeliveryStatus | None = None,
    subscription: Annotated[
        str | None, Query(max_length=64, description="Only this subscription's (`whs_...`).")
    ] = None,
) -> Page[DeliveryOut]:
    """The caller's deliveries, newest first."""
    context.require(Scope.webhooks_read)
    before = 0 if page.starting_after is None else parse_id("whd", page.starting_after, "cursor")
    subscription_id = None if subscription is None else _subscription_id(subscription)
    found = webhooks_of(context).list_deliveries(
        context.actor, before, page.limit + 1, status=status, subscription_id=subscription_id
    )
    items = [DeliveryOut(**_delivery_fields(d)) for d in found]
    return page_from(items, page.limit, lambda d: d.id)


@router.get("/webhooks/deliveries/{delivery_id}", response_model=DeliveryDetailOut)
def get_delivery(delivery_id: str, context: Caller) -> DeliveryDetailOut:
    """A delivery with its body and every attempt (status code, error, duration, time)."""
    context.require(Scope.webhooks_read)
    detail = webhooks_of(context).get_delivery(context.actor, _delivery_id(delivery_id))
    return DeliveryDetailOut(
        **_delivery_fields(detail.delivery),
        payload=json.loads(detail.body),
        attempt_log=[_attempt_out(a) for a in detail.attempts],
    )


@router.post(
    "/webhooks/deliveries/{delivery_id}/redelivery", status_code=202, response_model=DeliveryOut
)
def redeliver(delivery_id: str, context: Caller) -> DeliveryOut:
    """Send a delivered or dead-lettered delivery again (a fresh round of attempts)."""
    context.require(Scope.webhooks_write)
    delivery = webhooks_of(context).redeliver(context.actor, _delivery_id(delivery_id))
    return DeliveryOut(**_delivery_fields(delivery))
