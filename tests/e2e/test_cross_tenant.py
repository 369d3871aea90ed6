"""Cross-tenant matrix: tenant A's key with tenant B's ids never reads or changes B's data.

Two tenants, each wired to its own emulator (its own Genesys organisation, OAuth client,
integration, secrets and agents), on the live server so that B's agent reply arrives
through the real webhook. B has a conversation, messages both ways, a receipt and an
outbox row. Then A uses every endpoint with every kind of B's ids (conversation, message,
user, integration, media), and B's slug with A's own key; each answer must be a 4xx problem
(or, where the id is only a key A may reuse for itself, A's own result), and afterwards:

- B's rows are exactly as before,
- B's emulator received nothing at all (nothing went to Genesys with B's credentials),
- A's emulator received nothing naming B's conversation (the routing map knows B owns it),
- every request A's emulator did receive was valid for the SDK models.

A's requests that carry B's message or user ids do reach A's own Genesys organisation,
which does not know them: that reads nothing of B's (docs/testing.md, "Cross-tenant").
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from emulator.config import Config
from emulator.server import Emulator
from media.errors import MediaUnavailableError
from media.models import Media
from media.services import media_resolve
from outbound.models import InboundMessage, InboundReceipt
from tenants import services
from tenants.models import ApiKey, Conversation, Integration, Tenant
from tests.e2e.conftest import EmulatorClient
from tests.webhooks.conftest import compact, post_events, post_open_messaging
from webhooks.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER_A = "+15550100001"
CUSTOMER_B = "+15550200002"
WAMID_B = "wamid.tenant-b-first-message"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


class Side:
    """One tenant with its own emulator and API key."""

    def __init__(self, *, name: str, seed: int, live_server: LiveServer) -> None:
        self.slug = f"x-{name}"
        self.integration_id = f"{seed:08d}-1111-4000-8000-00000000000{name}"
        self.webhook_secret = f"webhook-secret-of-{name}-0123456789"
        self.events_secret = f"events-secret-of-{name}-0123456789"
        self.org_id = f"{seed:08d}-0000-4000-8000-000000000000"
        self.emulator = Emulator(
            Config(
                port=0,
                gateway_url=live_server.url,
                client_id=f"client-{name}",
                client_secret=f"client-secret-of-{name}-0123456789",
                integration_id=self.integration_id,
                webhook_secret=self.webhook_secret,
                events_secret=self.events_secret,
                org_id=self.org_id,
                org_name=f"Org {name.upper()}",
                seed=seed,
                user_count=40,
                webhook_timeout=5.0,
                webhook_retry_delay=0.05,
            )
        )
        self.emulator.start()
        self.genesys = EmulatorClient(self.emulator)
        config = self.emulator.config
        self.tenant = services.tenant_create(
            slug=self.slug,
            name=f"Tenant {name.upper()}",
            region="custom",
            api_base_url=self.emulator.url,
            login_base_url=self.emulator.url,
            client_id=config.client_id,
            client_secret=config.client_secret,
        )
        services.integration_add(
            tenant=self.tenant, integration_id=self.integration_id, secret=self.webhook_secret
        )
        services.tenant_set_events_secret(tenant=self.tenant, secret=self.events_secret)
        self.tenant.organization_id = self.org_id
        self.tenant.save(update_fields=["organization_id"])
        _, raw_key = services.api_key_create(tenant=self.tenant, name=name)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def call(self, method: str, path: str, *, slug: str | None = None, **body: Any) -> Any:
        url = f"/api/v1/tenants/{slug or self.slug}/{path}"
        if path == "media":
            return self.client.generic("POST", url, PNG, "image/png")
        if method == "GET":
            return self.client.get(url, body)
        return getattr(self.client, method.lower())(url, body or None, format="json")


@pytest.fixture
def sides(live_server: LiveServer, settings: Any, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    settings.OUTBOX_WAKE_CELERY = False  # no relay needed: rows are what we compare
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_PUBLIC_BASE_URL = live_server.url
    a = Side(name="a", seed=11, live_server=live_server)
    b = Side(name="b", seed=22, live_server=live_server)
    yield a, b
    a.emulator.stop()
    b.emulator.stop()


def _b_history(b: Side) -> dict[str, Any]:
    """B's conversation with a message each way, a receipt and an outbox row."""
    sent = b.call(
        "POST",
        "messages",
        message_id=WAMID_B,
        **{"from": {"id": CUSTOMER_B, "nickname": "Bea"}},
        text="hello from B's customer",
    )
    assert sent.status_code == 201, sent.content
    conversation_id = sent.json()["conversation_id"]
    reply = b.genesys.control(
        f"conversations/{conversation_id}/reply", {"text": "B's agent here", "wait": True}
    )
    [delivery] = reply["deliveries"]
    assert delivery["outcome"] == "delivered", delivery
    receipt = b.call(
        "POST",
        "receipts",
        message_id=reply["message_id"],
        status="delivered",
        to={"id": CUSTOMER_B},
    )
    assert receipt.status_code == 202, receipt.content
    b.call("PATCH", f"conversations/{conversation_id}/attributes", attributes={"tier": "gold"})
    media = b.call("POST", "media")
    assert media.status_code == 201, media.content
    [summary] = b.genesys.inspect("conversations")["entities"]
    user_id = summary["agent_user_id"]
    assert user_id
    return {
        "conversation_id": conversation_id,
        "agent_message_id": reply["message_id"],
        "inbound_message_id": sent.json()["genesys_message_id"],
        "user_id": user_id,
        "open_messaging_payload": delivery["payload"],
        "media_id": media.json()["media_id"],
        "media_url": media.json()["url"],
    }


def _rows(tenant: Tenant) -> dict[str, list[Any]]:
    """Everything stored for a tenant, as plain values."""
    return {
        "tenant": list(Tenant.objects.filter(pk=tenant.pk).values()),
        "integrations": list(Integration.objects.filter(tenant=tenant).values()),
        "api_keys": list(ApiKey.objects.filter(tenant=tenant).values()),
        "conversations": list(Conversation.objects.filter(tenant=tenant).order_by("pk").values()),
        "inbound_messages": list(
            InboundMessage.objects.filter(tenant=tenant).order_by("pk").values()
        ),
        "inbound_receipts": list(
            InboundReceipt.objects.filter(tenant=tenant).order_by("pk").values()
        ),
        "outbox": list(OutboxMessage.objects.filter(tenant=tenant).order_by("pk").values()),
        "media": list(Media.objects.filter(tenant=tenant).order_by("pk").values()),
    }


def _genesys_view(side: Side, conversation_id: str) -> dict[str, Any]:
    """What B's Genesys holds about the conversation, read with B's own emulator client."""
    return {
        "conversation": side.genesys.genesys_get(f"/api/v2/conversations/{conversation_id}"),
        "summaries": side.genesys.inspect("conversations")["entities"],
    }


def _requests_seen(side: Side) -> list[dict[str, Any]]:
    return [r for r in side.genesys.requests() if r["path"].startswith(("/api/", "/oauth/"))]


def _problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.content)
    assert response["Content-Type"] == "application/problem+json", response.content
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    return body


def test_tenant_a_never_reads_or_changes_tenant_b(sides: tuple[Side, Side]) -> None:
    a, b = sides
    own = a.call(
        "POST", "messages", message_id="wamid.a-1", text="A's own", **{"from": {"id": CUSTOMER_A}}
    )
    assert own.status_code == 201, own.content
    ids = _b_history(b)
    b_rows, b_genesys = _rows(b.tenant), _genesys_view(b, ids["conversation_id"])
    b_requests_before = len(_requests_seen(b))
    a_requests_before = len(_requests_seen(a))
    conversation = ids["conversation_id"]

    # Integration ids: B's integration is unknown to A, answered like any unknown one.
    for path, body in [
        ("messages", {"message_id": "wamid.a-2", "from": {"id": CUSTOMER_A}, "text": "x"}),
        (
            "receipts",
            {"message_id": ids["agent_message_id"], "status": "read", "to": {"id": CUSTOMER_B}},
        ),
        ("typing", {"from": {"id": CUSTOMER_B}}),
    ]:
        answer = a.call("POST", path, integration_id=b.integration_id, **body)
        problem = _problem(answer, 400)
        assert problem["errors"] == {"integration_id": ["Unknown integration."]}

    # Conversation ids: the routing map knows B owns it, so A learns nothing, not even
    # whether it exists, and A's Genesys is not asked either.
    unknown = a.call("GET", "conversations/00000000-0000-4000-8000-0000000000ff")
    unknown_problem = _problem(unknown, 404)
    for method, path, body in [
        ("GET", f"conversations/{conversation}", {}),
        ("GET", f"conversations/{conversation}/messages", {}),
        ("PATCH", f"conversations/{conversation}/attributes", {"attributes": {"tier": "x"}}),
        ("POST", f"conversations/{conversation}/disconnect", {}),
    ]:
        problem = _problem(a.call(method, path, **body), 404)
        assert (problem["type"], problem["title"]) == (
            unknown_problem["type"],
            unknown_problem["title"],
        ), "B's conversation must look like one that does not exist"

    # Message ids. B's WhatsApp message id is only a key: A may use it for A's own message,
    # which gets A's own Genesys message, never B's stored result.
    reused = a.call(
        "POST", "messages", message_id=WAMID_B, text="same wamid", **{"from": {"id": CUSTOMER_A}}
    )
    assert reused.status_code == 201, reused.content
    assert reused.json()["genesys_message_id"] != ids["inbound_message_id"]
    assert reused.json()["conversation_id"] != conversation
    # B's agent message id in a receipt or a structured reply goes to A's Genesys, which
    # does not know it: a 4xx, and B's message keeps its receipts.
    for status in ("delivered", "failed"):
        receipt = a.call(
            "POST",
            "receipts",
            message_id=ids["agent_message_id"],
            status=status,
            to={"id": CUSTOMER_A},
        )
        _problem(receipt, 404, 422)
    reply = a.call(
        "POST",
        "messages",
        message_id="wamid.a-3",
        **{"from": {"id": CUSTOMER_A}},
        reply={
            "type": "QuickReply",
            "payload": "YES",
            "text": "Yes",
            "reply_to": ids["agent_message_id"],
        },
    )
    _problem(reply, 404, 422)

    # User ids: users live in each tenant's own Genesys organisation.
    _problem(a.call("GET", f"users/{ids['user_id']}"), 404)
    listing = a.call("GET", "users", page_size=100)
    assert listing.status_code == 200, listing.content
    assert ids["user_id"] not in {user["id"] for user in listing.json()["items"]}
    organization = a.call("GET", "organization")
    assert organization.status_code == 200
    assert organization.json()["id"] == a.org_id

    # Media ids: B's upload as an attachment of A's message is unavailable, like an
    # unknown one, and nothing reaches Genesys; only B resolves B's media; A's uploads are A's.
    attached = a.call(
        "POST",
        "messages",
        message_id="wamid.a-4",
        **{"from": {"id": CUSTOMER_A}},
        attachments=[{"media_id": ids["media_id"], "media_type": "Image"}],
    )
    problem = _problem(attached, 400)
    assert problem["type"].endswith("/media-unavailable")
    assert list(problem["errors"]) == ["attachments"]
    assert not InboundMessage.objects.filter(tenant=a.tenant, message_id="wamid.a-4").exists()
    with pytest.raises(MediaUnavailableError):
        media_resolve(tenant=a.tenant, media_id=ids["media_id"])
    assert media_resolve(tenant=b.tenant, media_id=ids["media_id"]).tenant_id == b.tenant.pk
    mine = a.call("POST", "media")
    assert mine.status_code == 201, mine.content
    assert Media.objects.get(id=mine.json()["media_id"]).tenant_id == a.tenant.pk

    # B's slug with A's key: every endpoint answers as for a tenant that does not exist.
    for method, path in [
        ("POST", "media"),
        ("POST", "messages"),
        ("POST", "receipts"),
        ("POST", "typing"),
        ("GET", f"conversations/{conversation}"),
        ("GET", f"conversations/{conversation}/messages"),
        ("PATCH", f"conversations/{conversation}/attributes"),
        ("POST", f"conversations/{conversation}/disconnect"),
        ("GET", "organization"),
        ("GET", "users"),
        ("GET", f"users/{ids['user_id']}"),
    ]:
        problem = _problem(a.call(method, path, slug=b.slug), 404)
        assert problem["detail"] == "No such tenant."

    # Webhooks: B's payload signed with A's secrets is refused and stores nothing.
    webhooks = Client()
    stored_before = OutboxMessage.objects.count()
    b_payload = compact(ids["open_messaging_payload"])
    assert post_open_messaging(webhooks, b_payload, secret=a.webhook_secret).status_code == 401
    end = {
        "topicName": f"v2.detail.events.conversation.{conversation}.customer.end",
        "version": "2",
        "eventBody": {
            "eventTime": "2026-11-30T10:00:00.000Z",
            "conversationId": conversation,
            "participantId": "p",
            "disconnectType": "CLIENT",
        },
        "metadata": {"CorrelationId": "c"},
    }
    for bearer in (False, True):
        denied = post_events(webhooks, compact(end), secret=a.events_secret, bearer=bearer)
        assert denied.status_code == 401, denied.content
    assert OutboxMessage.objects.count() == stored_before

    # Nothing of B's changed, here or in B's Genesys; B's Genesys heard nothing at all.
    assert _rows(b.tenant) == b_rows
    assert len(_requests_seen(b)) == b_requests_before, "a request went out with B's client"
    assert _genesys_view(b, conversation) == b_genesys
    # A's Genesys was never asked about B's conversation, and got only valid requests.
    a_requests = _requests_seen(a)[a_requests_before:]
    assert a_requests, "A's own calls reached A's Genesys"
    assert not [r for r in a_requests if conversation in r["path"] + json.dumps(r["body"])]
    assert [r for r in a_requests if r["valid"] is False] == []
