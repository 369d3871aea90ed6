import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from media.models import Media
from tenants.models import Tenant
from tests.media.conftest import JPEG, PDF, PNG
from tests.outbound.conftest import problem


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_upload_stores_the_bytes_and_answers_a_signed_url(
    upload: Callable[..., Any], tenant: Tenant, media_root: Path
) -> None:
    response = upload(PNG, "image/png", HTTP_X_FILENAME="holiday%20photo.png")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"media_id", "mime", "size", "sha256", "url", "expires_at"}
    assert body["mime"] == "image/png"
    assert body["size"] == len(PNG)
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert body["url"].startswith("http://testserver/media/")
    media = Media.objects.get(id=body["media_id"])
    assert media.tenant == tenant
    assert media.filename == "holiday photo.png"
    created = media.created_at
    assert media.storage_name == f"acme/{created:%Y}/{created:%m}/{media.id}"
    assert (media_root / media.storage_name).read_bytes() == PNG
    # The spooled upload was moved into place, not left behind.
    assert stored_files(media_root) == [media_root / media.storage_name]


def test_content_type_parameters_are_dropped(upload: Callable[..., Any]) -> None:
    response = upload(JPEG, "Image/JPEG; q=1")
    assert response.status_code == 201
    assert response.json()["mime"] == "image/jpeg"


def test_a_type_outside_the_allowed_list_is_415(
    upload: Callable[..., Any], media_root: Path
) -> None:
    response = upload(b"<html><script>alert(1)</script>", "text/html")
    assert response.status_code == 415
    assert problem(response)["type"].endswith("/unsupported-media-type")
    assert not Media.objects.exists()
    assert stored_files(media_root) == []


def test_bytes_that_are_not_the_declared_type_are_415(
    upload: Callable[..., Any], media_root: Path
) -> None:
    response = upload(PNG, "application/pdf")
    assert response.status_code == 415
    assert "not application/pdf" in problem(response)["detail"]
    assert not Media.objects.exists()
    assert stored_files(media_root) == []


def test_a_pdf_is_accepted_as_pdf(upload: Callable[..., Any]) -> None:
    assert upload(PDF, "application/pdf").status_code == 201


def test_an_empty_body_is_400(upload: Callable[..., Any], media_root: Path) -> None:
    response = upload(b"", "image/png")
    assert response.status_code == 400
    assert problem(response)["type"].endswith("/media-empty")
    assert stored_files(media_root) == []


def test_a_body_over_the_limit_is_413(
    upload: Callable[..., Any], settings: Any, media_root: Path
) -> None:
    settings.MEDIA_MAX_BYTES = 100
    response = upload(PNG, "image/png")
    assert response.status_code == 413
    assert problem(response)["type"].endswith("/media-too-large")
    assert stored_files(media_root) == []


def test_a_body_exactly_at_the_limit_is_stored(upload: Callable[..., Any], settings: Any) -> None:
    settings.MEDIA_MAX_BYTES = len(PNG)
    assert upload(PNG, "image/png").status_code == 201


def test_an_upload_needs_the_tenants_key(api_client: APIClient, tenant: Tenant) -> None:
    response = api_client.generic("POST", f"/api/v1/tenants/{tenant.slug}/media", PNG, "image/png")
    assert response.status_code == 401
    assert problem(response)["status"] == 401


def test_another_tenants_key_cannot_upload_here(other_client: APIClient, tenant: Tenant) -> None:
    response = other_client.generic(
        "POST", f"/api/v1/tenants/{tenant.slug}/media", PNG, "image/png"
    )
    assert response.status_code == 404
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("caf%C3%A9.jpg", "café.jpg"),
        ('a"b\x07c.png', "abc.png"),
    ],
)
def test_file_names_are_reduced_to_a_plain_name(raw: str, clean: str) -> None:
    from media.services import media_filename_clean

    assert media_filename_clean(raw) == clean
