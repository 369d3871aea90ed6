"""Media tests: files under a temporary MEDIA_ROOT, sample bytes of each type."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tenants import services as tenant_services
from tenants.models import Tenant

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(300)
PDF = b"%PDF-1.7\n" + os.urandom(300)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + os.urandom(300)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    settings.MEDIA_PUBLIC_BASE_URL = "http://testserver"
    return root


@pytest.fixture
def upload(authed_client: APIClient, tenant: Tenant) -> Callable[..., Any]:
    """POST bytes to the tenant's media endpoint; the response."""

    def post(body: bytes, content_type: str = "image/png", **headers: str) -> Any:
        return authed_client.generic(
            "POST", f"/api/v1/tenants/{tenant.slug}/media", body, content_type, **headers
        )

    return post


@pytest.fixture
def other_client(tenant_factory: Callable[..., Tenant]) -> APIClient:
    """A client with an API key of another tenant, `globex`."""
    other = tenant_factory(slug="globex", name="Globex")
    _, raw_key = tenant_services.api_key_create(tenant=other, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client
