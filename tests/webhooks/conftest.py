"""Fixtures for the webhook tests: signed requests exactly as Genesys sends them."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.test.client import Client as DjangoClient

from tenants import services
from tenants.models import Conversation, Integration, Tenant
from tests.conftest import WEBHOOK_SECRET
from webhooks.signatures import signature_compute

OPEN_MESSAGING_URL = "/webhooks/genesys/open-messaging"
EVENTS_URL = "/webhooks/genesys/events"

INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"
CUSTOMER_ID = "+15550123456"
CONVERSATION_ID = "3e8d5a71-c2b4-4f69-8e1a-5b7c0d9f2e34"
ORGANIZATION_ID = "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45"
USER_ID = "2c6f9e1a-4b7d-4a38-9e05-8d1c3b7f2a64"
EVENTS_SECRET = "events-secret-for-tests-0123456789"


def compact(payload: Any) -> bytes:
    """JSON the way the shared test vector was serialised (compact, key order kept)."""
    return json.dumps(payload, separators=(",", ":")).encode()


def post_open_messaging(
    client: DjangoClient, body: bytes, *, secret: str | None = WEBHOOK_SECRET, **headers: str
) -> Any:
    if secret is not None:
        headers.setdefault("X-Hub-Signature-256", signature_compute(secret=secret, body=body))
    return client.post(
        OPEN_MESSAGING_URL, data=body, content_type="application/json", headers=headers
    )


def post_events(
    client: DjangoClient,
    body: bytes,
    *,
    secret: str | None = EVENTS_SECRET,
    bearer: bool = False,
    **headers: str,
) -> Any:
    if secret is not None:
        if bearer:
            headers.setdefault("Authorization", f"Bearer {secret}")
        else:
            headers.setdefault("X-Hub-Signature-256", signature_compute(secret=secret, body=body))
    return client.post(EVENTS_URL, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def events_tenant(tenant: Tenant) -> Tenant:
    """The tenant with an events secret and the organisation id `tenant verify` records."""
    services.tenant_set_events_secret(tenant=tenant, secret=EVENTS_SECRET)
    tenant.organization_id = ORGANIZATION_ID
    tenant.save(update_fields=["organization_id"])
    return tenant


@pytest.fixture
def conversation(events_tenant: Tenant, integration: Integration) -> Conversation:
    """The conversation the API side recorded when the customer wrote first."""
    return services.conversation_record(
        tenant=events_tenant,
        conversation_id=CONVERSATION_ID,
        integration=integration,
        customer_id=CUSTOMER_ID,
    )


@pytest.fixture
def other_tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    other = tenant_factory(slug="globex", name="Globex")
    services.tenant_set_events_secret(tenant=other, secret="globex-events-secret-000000")
    return other


@pytest.fixture
def webhook_client() -> Client:
    return Client()
