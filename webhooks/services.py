"""Writes for the webhook side: receive a Genesys webhook, store its events in the outbox.

The rule (docs/webhooks.md): a webhook is answered 200 only after its events are committed. Each
webhook is one short transaction holding the outbox row(s) and any conversation state
change; the relay is woken on commit and publishes from the table, never from here.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from genesys_gateway.problems import ProblemError
from tenants.cache import integration_auth_get
from tenants.models import Conversation, Integration, Tenant
from tenants.selectors import (
    conversation_get,
    conversation_latest_for_customer,
    tenant_get_by_organization,
)
from tenants.services import conversation_event_record, conversation_record
from webhooks.models import OutboxMessage
from webhooks.outbox.services import outbox_enqueue, outbox_enqueue_in_latest_conversation
from webhooks.outbox.wakeup import relay_wake
from webhooks.payloads.notifications import (
    notification_conversation_id,
    notification_customer_id,
    notification_integration_ids,
    notification_is_heartbeat,
    notification_normalise,
    notification_unwrap,
)
from webhooks.payloads.open_messaging import (
    open_messaging_conversation_id,
    open_messaging_customer_id,
    open_messaging_integration_candidates,
    open_messaging_normalise,
)
from webhooks.payloads.parsing import json_parse
from webhooks.payloads.times import time_newest
from webhooks.payloads.types import (
    CONVERSATION_DISCONNECTED,
    GenesysEvent,
    Notification,
    PayloadError,
)
from webhooks.signatures import bearer_matches, signature_matches

logger = structlog.get_logger(__name__)


class WebhookUnauthorized(ProblemError):
    status = 401
    slug = "invalid-signature"
    title = "Invalid or missing signature"


class WebhookMalformed(ProblemError):
    status = 400
    slug = "malformed-webhook"
    title = "Malformed webhook"


class WebhookStale(ProblemError):
    status = 400
    slug = "event-too-old"
    title = "Event too old"


class WebhookTargetNotFound(ProblemError):
    status = 404
    slug = "unknown-target"
    title = "Unknown integration, conversation or organisation"


@dataclass(frozen=True)
class WebhookReceipt:
    """What happened to an accepted webhook."""

    # accepted: new events stored; duplicate: all seen before; ignored: recorded, not
    # published; heartbeat: nothing to store.
    result: str
    event_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NewConversation:
    """A conversation seen in traffic, to add to the routing map with the events."""

    conversation_id: str
    integration: Integration | None
    customer_id: str


def _store(
    *,
    tenant: Tenant,
    genesys_events: list[GenesysEvent],
    conversation: Conversation | None = None,
    new_conversation: NewConversation | None = None,
) -> WebhookReceipt:
    """One transaction: learn the conversation, insert the events, update its state.

    A lone event with no conversation to change is one INSERT, atomic by itself: run in
    autocommit it spares the BEGIN and COMMIT round trips.
    """
    alone = len(genesys_events) == 1 and conversation is None and new_conversation is None
    with contextlib.nullcontext() if alone else transaction.atomic():
        if new_conversation is not None:
            conversation = conversation_record(
                tenant=tenant,
                conversation_id=new_conversation.conversation_id,
                integration=new_conversation.integration,
                customer_id=new_conversation.customer_id,
            )
        stored = [
            message
            for event in genesys_events
            if (message := outbox_enqueue(tenant=tenant, event=event)) is not None
        ]
        published = [m for m in stored if m.status == OutboxMessage.Status.PENDING]
        if published and conversation is not None and conversation.tenant_id == tenant.pk:
            last = published[-1]
            conversation_event_record(
                conversation=conversation,
                event_type=last.event_type,
                event_at=datetime.fromisoformat(last.cloud_event["time"]),
                disconnected=any(m.event_type == CONVERSATION_DISCONNECTED for m in published),
            )
        if published:
            transaction.on_commit(relay_wake)
    event_ids = [event.event_id for event in genesys_events]
    return _receipt(event_ids=event_ids, stored=len(stored), published=bool(published))


def _receipt(*, event_ids: list[str], stored: int, published: bool) -> WebhookReceipt:
    """The webhook's outcome: a duplicate when nothing was new, ignored when nothing new
    is published."""
    if not stored:
        result = "duplicate"
    elif published:
        result = "accepted"
    else:
        result = "ignored"
    logger.debug("webhook.stored", result=result, event_ids=event_ids, stored=stored)
    return WebhookReceipt(result=result, event_ids=event_ids)


def _refuse_stale(genesys_events: list[GenesysEvent], *, envelope_time: str | None) -> None:
    """Refuse events older than the outbox keeps rows (docs/webhooks.md, "Stale events").

    Their row may have been purged, so a captured webhook replayed now would be published
    a second time. A 4xx, not a silent 200: the sender sees it, and Genesys does not
    retry it. The newest time the payload carries counts, envelope included.
    """
    newest = time_newest(envelope_time, *(event.time for event in genesys_events))
    try:
        oldest_accepted = timezone.now() - timedelta(hours=settings.WEBHOOK_MAX_EVENT_AGE_HOURS)
    except OverflowError:  # a limit reaching before year 1 is no limit
        return
    if newest is not None and newest < oldest_accepted:
        raise WebhookStale(
            f"The event is from {newest.isoformat()}, older than the "
            f"{settings.WEBHOOK_MAX_EVENT_AGE_HOURS:g} hours the gateway remembers events; "
            "a replay is not published again."
        )


def _parse(body: bytes) -> object:
    try:
        return json_parse(body)
    except PayloadError as exc:
        raise WebhookMalformed(str(exc)) from None


# --- Open Messaging -------------------------------------------------------------------


def webhook_open_messaging_receive(*, body: bytes, signature: str) -> WebhookReceipt:
    """Verify and store an Open Messaging outbound webhook (agent/bot message, typing...).

    Only the integration id is read before the signature is checked; the full parse
    comes after.
    """
    if not signature:
        raise WebhookUnauthorized("X-Hub-Signature-256 is missing.")
    payload = _parse(body)
    try:
        candidates = open_messaging_integration_candidates(payload)
    except PayloadError as exc:
        raise WebhookMalformed(str(exc)) from None
    integration = _integration_authenticate(
        integration_ids=candidates, body=body, signature=signature
    )
    tenant = integration.tenant

    assert isinstance(payload, dict)  # checked by open_messaging_integration_candidates
    customer_id = open_messaging_customer_id(payload, integration_id=integration.integration_id)
    if (
        connection.vendor == "postgresql"
        and customer_id
        and not open_messaging_conversation_id(payload)
    ):
        # The common agent message: its conversation is the customer's newest, read by
        # the INSERT itself. (Elsewhere, SQLite in development, it is read first.)
        return _open_messaging_store_in_latest_conversation(
            payload, integration=integration, customer_id=customer_id
        )
    conversation, new_conversation = _open_messaging_conversation(payload, integration=integration)
    conversation_id = conversation.conversation_id if conversation else None
    if new_conversation is not None:
        conversation_id = new_conversation.conversation_id
    structlog.contextvars.bind_contextvars(conversation_id=conversation_id)
    try:
        genesys_events = open_messaging_normalise(
            payload=payload,
            integration_id=integration.integration_id,
            conversation_id=conversation_id,
        )
    except PayloadError as exc:
        raise WebhookMalformed(str(exc)) from None
    _refuse_stale(genesys_events, envelope_time=None)
    return _store(
        tenant=tenant,
        genesys_events=genesys_events,
        conversation=conversation,
        new_conversation=new_conversation,
    )


def _open_messaging_store_in_latest_conversation(
    payload: dict[str, object], *, integration: Integration, customer_id: str
) -> WebhookReceipt:
    """Normalise without a conversation, then store in the customer's newest one, if any,
    in one statement (`outbox_enqueue_in_latest_conversation`)."""
    try:
        [event] = open_messaging_normalise(
            payload=payload, integration_id=integration.integration_id, conversation_id=None
        )
    except PayloadError as exc:
        raise WebhookMalformed(str(exc)) from None
    _refuse_stale([event], envelope_time=None)
    status, conversation_id = outbox_enqueue_in_latest_conversation(
        tenant=integration.tenant, event=event, integration=integration, customer_id=customer_id
    )
    structlog.contextvars.bind_contextvars(conversation_id=conversation_id)
    published = status == OutboxMessage.Status.PENDING
    if published:
        transaction.on_commit(relay_wake)
    return _receipt(event_ids=[event.event_id], stored=int(status is not None), published=published)


def _integration_authenticate(
    *, integration_ids: list[str], body: bytes, signature: str
) -> Integration:
    """The integration whose secret signed the body, from the in-process cache.

    A mismatch reads the database once more before refusing: the secret may have been
    rotated by another process since this one cached it.
    """
    auth = integration_auth_get(integration_ids=integration_ids)
    matches = auth is not None and signature_matches(
        body=body, header=signature, secrets=auth.secrets
    )
    if auth is not None and not matches:
        auth = integration_auth_get(integration_ids=integration_ids, refresh=True)
        matches = auth is not None and signature_matches(
            body=body, header=signature, secrets=auth.secrets
        )
    if auth is None:
        raise WebhookTargetNotFound("No integration with this id is configured.")
    integration = auth.integration
    structlog.contextvars.bind_contextvars(
        tenant=integration.tenant.slug, integration_id=integration.integration_id
    )
    if not matches:
        raise WebhookUnauthorized("The signature does not match the integration's secret.")
    return integration


def _open_messaging_conversation(
    payload: dict[str, object], *, integration: Integration
) -> tuple[Conversation | None, NewConversation | None]:
    """The conversation an agent message belongs to, or what to record about a new one.

    Genesys may put `conversationId` in the payload (not guaranteed); otherwise the
    newest conversation the API side recorded for this customer on this integration.
    """
    customer_id = open_messaging_customer_id(payload, integration_id=integration.integration_id)
    conversation_id = open_messaging_conversation_id(payload)
    if conversation_id:
        conversation = conversation_get(conversation_id=conversation_id)
        if conversation is None:
            return None, NewConversation(
                conversation_id=conversation_id, integration=integration, customer_id=customer_id
            )
        if conversation.tenant_id == integration.tenant_id:
            return conversation, None
    if not customer_id:
        return None, None
    return (
        conversation_latest_for_customer(integration=integration, customer_id=customer_id),
        None,
    )


# --- Notification topics --------------------------------------------------------------


def webhook_events_receive(*, body: bytes, signature: str, authorization: str) -> WebhookReceipt:
    """Verify and store a conversation/user notification, bare or from EventBridge."""
    if not signature and not authorization:
        raise WebhookUnauthorized("Neither X-Hub-Signature-256 nor Authorization is present.")
    payload = _parse(body)
    try:
        notification = notification_unwrap(payload)
        if notification_is_heartbeat(notification):
            # Keep-alives of a WebSocket channel carry no tenant and change nothing.
            return WebhookReceipt(result="heartbeat")
        conversation_id = notification_conversation_id(notification)
        genesys_events = notification_normalise(notification)
    except PayloadError as exc:
        raise WebhookMalformed(str(exc)) from None
    structlog.contextvars.bind_contextvars(conversation_id=conversation_id)

    conversation = conversation_get(conversation_id=conversation_id) if conversation_id else None
    tenant: Tenant | None
    integration: Integration | None
    if conversation is not None:
        tenant, integration = conversation.tenant, conversation.integration
    else:
        tenant, integration = _notification_tenant(notification)
    if tenant is None or not tenant.is_active:
        raise WebhookTargetNotFound("No tenant knows this conversation or organisation.")
    structlog.contextvars.bind_contextvars(tenant=tenant.slug)

    secret = tenant.events_secret()
    authenticated = bool(secret) and (
        signature_matches(body=body, header=signature, secrets=[secret])
        or bearer_matches(header=authorization, secret=secret)
    )
    if not authenticated:
        raise WebhookUnauthorized("The signature or bearer token does not match.")

    new_conversation = None
    if conversation is None and conversation_id:
        customer_id = ""
        if integration is not None:
            customer_id = notification_customer_id(
                notification, integration_id=integration.integration_id
            )
        new_conversation = NewConversation(
            conversation_id=conversation_id, integration=integration, customer_id=customer_id
        )
    _refuse_stale(genesys_events, envelope_time=notification.envelope_time)
    return _store(
        tenant=tenant,
        genesys_events=genesys_events,
        conversation=conversation,
        new_conversation=new_conversation,
    )


def _notification_tenant(notification: Notification) -> tuple[Tenant | None, Integration | None]:
    """Tenant (and integration) of a notification about a conversation we do not know yet.

    First the organisation id of an EventBridge source, then the open-messaging
    integration the event names; both must agree when both are known.
    """
    tenant = None
    if notification.organization_id:
        tenant = tenant_get_by_organization(organization_id=notification.organization_id)
    auth = integration_auth_get(integration_ids=notification_integration_ids(notification))
    integration = auth.integration if auth is not None else None
    if integration is not None and tenant is not None and integration.tenant_id != tenant.pk:
        integration = None
    if tenant is None and integration is not None:
        tenant = integration.tenant
    return tenant, integration
