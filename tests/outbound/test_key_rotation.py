"""Key rotation and the cached Genesys tokens: rotate, drop the old key, calls still work."""

import io
from typing import Any

import responses
from cryptography.fernet import Fernet
from django.core.management import call_command
from rest_framework.test import APIClient

from outbound.cache import caches_clear
from outbound.genesys import genesys_token_get
from outbound.models import GenesysToken
from tenants import crypto
from tenants.models import Tenant
from tenants.services import encryption_rotate
from tests.outbound.conftest import API

URL = "/api/v1/tenants/acme/organization"
ORG_URL = f"{API}/api/v2/organizations/me"
ORG = {"id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45", "name": "Acme Corp"}
NEW_KEY = "Qm8y1s3vXtqAGbDPZ2zW0cLh0kQ9lQmQJtq8c5nFQ2E="


def _cached_token_ciphertext(tenant: Tenant) -> str:
    return GenesysToken.objects.get(tenant=tenant).access_token_encrypted


def test_rotation_reencrypts_the_cached_token_so_the_old_key_can_go(
    tenant: Tenant,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    settings: Any,
) -> None:
    genesys.get(ORG_URL, json=ORG)
    assert authed_client.get(URL).status_code == 200  # caches tok-1 under the current key
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    before = _cached_token_ciphertext(tenant)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, old_key]
    output = io.StringIO()
    call_command("rotate_encryption", stdout=output)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the runbook's last step: drop the old key

    assert output.getvalue().strip() == "re-encrypted 2 secrets with the newest key"
    assert _cached_token_ciphertext(tenant) != before
    assert crypto.decrypt(_cached_token_ciphertext(tenant)) == "tok-1"
    response = authed_client.get(URL)
    assert response.status_code == 200
    assert response.json()["id"] == ORG["id"]
    assert token_endpoint.call_count == 1  # the re-encrypted cached token was used


def test_rotation_counts_the_cached_tokens(
    tenant: Tenant, genesys: responses.RequestsMock, token_endpoint: Any, settings: Any
) -> None:
    genesys_token_get(tenant=tenant)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    assert encryption_rotate() == 2  # the tenant's client secret and its cached token


def test_an_unreadable_cached_token_is_replaced_not_a_500(
    tenant: Tenant,
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    log_output: io.StringIO,
) -> None:
    organization = genesys.get(ORG_URL, json=ORG)
    assert authed_client.get(URL).status_code == 200
    # A still-valid token written under a key no longer configured (the old key dropped
    # before rotation reached the row).
    stale = Fernet(Fernet.generate_key()).encrypt(b"tok-under-a-lost-key").decode()
    GenesysToken.objects.filter(tenant=tenant).update(access_token_encrypted=stale)
    caches_clear()  # dropping a key means restarting: the process starts with empty caches

    response = authed_client.get(URL)

    assert response.status_code == 200
    assert token_endpoint.call_count == 2  # a fresh token replaced the unreadable one
    assert organization.calls[-1].request.headers["Authorization"] == "Bearer tok-2"
    assert crypto.decrypt(_cached_token_ciphertext(tenant)) == "tok-2"
    lines = log_output.getvalue().splitlines()
    warnings = [line for line in lines if "genesys_token_unreadable" in line]
    assert warnings
    assert not any("tok-" in warning for warning in warnings)
