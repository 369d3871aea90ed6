"""Process caches (outbound/cache.py): a revoked key, a removed integration and a refused
token are never served from memory in the process that saw the change."""

from typing import Any

import responses
from rest_framework.test import APIClient

from outbound.cache import API_KEYS, TOKENS
from tenants import services
from tenants.models import ApiKey, Integration, Tenant
from tests.outbound.conftest import CONVERSATION_ID, INBOUND_URL

URL = "/api/v1/tenants/acme/messages"


def message(n: int) -> dict[str, Any]:
    return {"message_id": f"wamid.cache.{n}", "from": {"id": "+15550123456"}, "text": "hi"}


def test_a_revoked_key_is_refused_at_once_although_it_was_cached(
    integration: Integration,
    authed_client: APIClient,
    api_key: str,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    genesys.post(INBOUND_URL, json={"id": "g-1", "conversationId": CONVERSATION_ID})
    assert authed_client.post(URL, message(1), format="json").status_code == 201
    assert len(API_KEYS._entries) == 1  # served from memory from now on
    services.api_key_revoke(api_key=ApiKey.objects.get())
    assert authed_client.post(URL, message(2), format="json").status_code == 401


def test_a_removed_integration_is_not_served_from_the_cache(
    tenant: Tenant,
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    genesys.post(INBOUND_URL, json={"id": "g-1", "conversationId": CONVERSATION_ID})
    assert authed_client.post(URL, message(1), format="json").status_code == 201
    integration.delete()
    response = authed_client.post(URL, message(2), format="json")
    assert response.status_code == 400
    assert "integration_id" in response.json()["errors"]


def test_a_token_genesys_refuses_leaves_the_cache_and_a_fresh_one_is_used(
    integration: Integration,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
) -> None:
    genesys.post(INBOUND_URL, json={"id": "g-1", "conversationId": CONVERSATION_ID})
    assert authed_client.post(URL, message(1), format="json").status_code == 201
    assert TOKENS.get(integration.tenant_id) == "tok-1"
    genesys.replace(responses.POST, INBOUND_URL, status=401, json={"code": "bad.credentials"})
    genesys.add(responses.POST, INBOUND_URL, json={"id": "g-2", "conversationId": CONVERSATION_ID})
    assert authed_client.post(URL, message(2), format="json").status_code == 201
    assert token_endpoint.call_count == 2
    assert TOKENS.get(integration.tenant_id) == "tok-2"
