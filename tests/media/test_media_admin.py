import pytest
from django.contrib.auth.models import User
from django.core.checks import Error
from django.test import Client

from media.checks import media_settings_check
from media.models import Media
from tenants.models import Tenant
from tests.media.conftest import PNG
from tests.media.test_media_services import store


@pytest.fixture
def admin_client(db: None) -> Client:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.login(username="admin", password="pw")
    return client


def test_admin_lists_media_by_tenant_without_the_bytes(
    admin_client: Client, tenant: Tenant
) -> None:
    media = store(tenant)
    listing = admin_client.get("/admin/media/media/", {"tenant__id__exact": tenant.pk})
    assert listing.status_code == 200
    page = listing.content.decode()
    assert str(media.id) in page
    assert "image/png" in page
    assert f"{len(PNG)}\xa0bytes" in page
    assert "just now" in page

    detail = admin_client.get(f"/admin/media/media/{media.pk}/change/")
    assert detail.status_code == 200
    assert media.sha256 in detail.content.decode()
    assert b"\x89PNG" not in detail.content
    assert admin_client.get("/admin/media/media/add/").status_code == 403
    assert admin_client.post(f"/admin/media/media/{media.pk}/delete/").status_code == 403
    assert Media.objects.filter(pk=media.pk).exists()


def test_allowing_a_type_the_gateway_cannot_check_is_a_startup_error(settings: object) -> None:
    settings.MEDIA_ALLOWED_TYPES = ["image/png", "text/html"]  # type: ignore[attr-defined]
    errors = media_settings_check()
    assert [e.id for e in errors if isinstance(e, Error)] == ["media.E001"]
    assert "text/html" in errors[0].msg
