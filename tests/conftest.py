"""Shared fixtures. The database is the PostgreSQL that scripts/services.sh started."""

import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from django.test import Client
from rest_framework.test import APIClient

from tenants import services
from tenants.cache import integration_cache_clear
from tenants.models import Integration, Tenant
from tests.openapi import is_api_path, response_check

# Genesys Cloud payloads as Genesys sends and answers them (webhooks, notifications, API
# answers, errors), kept with the tests so every example the suite relies on is in the repo.
GENESYS_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "genesys"

DEFAULT_SECRET = "client-secret-value-1234"
WEBHOOK_SECRET = "wa-bridge-test-secret-0123456789"


@pytest.fixture(autouse=True)
def _integration_cache_empty() -> Iterator[None]:
    """Each test starts without integrations cached by an earlier, rolled-back one."""
    integration_cache_clear()
    yield
    integration_cache_clear()


def genesys_example(name: str) -> dict[str, Any]:
    """An example payload from tests/fixtures/genesys/, without its _comment."""
    data: dict[str, Any] = json.loads((GENESYS_EXAMPLES / name).read_text())
    data.pop("_comment", None)
    return data


@pytest.fixture
def tenant_factory(db: None) -> Callable[..., Tenant]:
    counter = {"n": 0}

    def make(**overrides: Any) -> Tenant:
        counter["n"] += 1
        fields: dict[str, Any] = {
            "slug": f"tenant-{counter['n']}",
            "name": f"Tenant {counter['n']}",
            "region": "custom",
            "api_base_url": "https://api.genesys.test",
            "login_base_url": "https://login.genesys.test",
            "client_id": f"client-{counter['n']}",
            "client_secret": DEFAULT_SECRET,
        }
        fields.update(overrides)
        return services.tenant_create(**fields)

    return make


@pytest.fixture
def tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    return tenant_factory(slug="acme", name="Acme")


@pytest.fixture
def integration(tenant: Tenant) -> Integration:
    return services.integration_add(
        tenant=tenant,
        integration_id="6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23",
        secret=WEBHOOK_SECRET,
    )


@pytest.fixture
def api_key(tenant: Tenant) -> str:
    _, raw_key = services.api_key_create(tenant=tenant, name="test")
    return raw_key


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def authed_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the root JSON log handler writes while the test runs, at INFO level."""
    root = logging.getLogger()
    handler = next(
        h for h in root.handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    )
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous_stream, previous_level = handler.setStream(buffer), root.level
    root.setLevel(logging.INFO)
    yield buffer
    handler.setStream(previous_stream)
    root.setLevel(previous_level)


@pytest.fixture
def staff_client_factory(db: None) -> Callable[..., Any]:
    """A logged-in admin client for a staff user holding exactly the given permissions."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    def make(*codenames: str) -> Client:
        user = User.objects.create_user(f"staff-{User.objects.count()}", password="pw")
        user.is_staff = True
        user.save()
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        client = Client()
        client.login(username=user.username, password="pw")
        return client

    return make


@pytest.fixture(autouse=True)
def _api_responses_match_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check every /api/v1 answer a test client gets against the served OpenAPI schema.

    Django's test Client.request is where every test client call (Client, APIClient)
    ends; wrapping it sees each response, problems included.
    """
    original = Client.request

    def request(self: Client, **environ: Any) -> Any:
        response = original(self, **environ)
        path = environ.get("PATH_INFO", "")
        if is_api_path(path):
            response_check(
                method=environ.get("REQUEST_METHOD", "GET"),
                path=path,
                status=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=response.content,
                headers=dict(response.headers),
            )
        return response

    monkeypatch.setattr(Client, "request", request)


@pytest.fixture(autouse=True)
def _process_caches_cleared() -> Iterator[None]:
    """Each test starts with empty process caches (outbound/cache.py), as a new process."""
    from outbound.cache import caches_clear

    caches_clear()
    yield
    caches_clear()


def subprocess_database_url() -> str:
    """DATABASE_URL of the test database, for the gateway processes a test starts."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def subprocess_env(*, settings_module: str = "settings.test", **overrides: str) -> dict[str, str]:
    """The environment of a gateway process a test starts: this one's, on the test
    database, with unbuffered output (its log is read while it runs), then `overrides`."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": subprocess_database_url(),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }
