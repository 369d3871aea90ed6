"""POST messages with `media_id` attachments: the signed URL, sha256, mime and filename of
the upload go to Genesys; an unknown, expired or foreign id is a 400 and nothing is sent."""

import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from media.models import Media
from tenants import services as tenant_services
from tenants.models import Integration, Tenant
from tests.outbound.conftest import CONVERSATION_ID, INBOUND_URL, problem

URL = "/api/v1/tenants/acme/messages"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(200)
ANSWER = {"id": "0b6c9f4e-7d21-4a8f-b3c5-92e1d7a6f480", "conversationId": CONVERSATION_ID}


def message(*attachments: dict[str, Any], message_id: str = "wamid.media-1") -> dict[str, Any]:
    return {"message_id": message_id, "from": {"id": "+15550123456"}, "attachments": attachments}


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_PUBLIC_BASE_URL = "http://testserver"
    return tmp_path


@pytest.fixture
def inbound(genesys: responses.RequestsMock, token_endpoint: Any) -> Any:
    return genesys.post(INBOUND_URL, json=ANSWER)


def upload(client: APIClient, slug: str, body: bytes = PNG, **headers: str) -> dict[str, Any]:
    response = client.generic("POST", f"/api/v1/tenants/{slug}/media", body, "image/png", **headers)
    assert response.status_code == 201, response.content
    answer: dict[str, Any] = response.json()
    return answer


def test_an_uploaded_file_goes_to_genesys_as_a_signed_url_with_its_checksum(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    media = upload(authed_client, "acme", HTTP_X_FILENAME="receipt.png")
    response = authed_client.post(
        URL, message({"media_id": media["media_id"], "media_type": "Image"}), format="json"
    )
    assert response.status_code == 201, response.content
    assert inbound.call_count == 1
    sent = json.loads(inbound.calls[0].request.body)["content"][0]["attachment"]
    assert sent["mediaType"] == "Image"
    assert sent["mime"] == "image/png"
    assert sent["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert sent["filename"] == "receipt.png"
    assert sent["url"].startswith("http://testserver/media/")
    # The URL works without credentials and serves exactly the uploaded bytes.
    download = Client().get(sent["url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"


def test_a_given_filename_wins_and_a_matching_mime_is_accepted(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    media = upload(authed_client, "acme", HTTP_X_FILENAME="IMG_0001.png")
    attachment = {
        "media_id": media["media_id"],
        "media_type": "File",
        "mime": "image/png",
        "filename": "proof-of-purchase.png",
    }
    response = authed_client.post(URL, message(attachment), format="json")
    assert response.status_code == 201, response.content
    sent = json.loads(inbound.calls[0].request.body)["content"][0]["attachment"]
    assert (sent["mediaType"], sent["filename"]) == ("File", "proof-of-purchase.png")


def test_url_and_media_id_attachments_mix_in_one_message(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    media = upload(authed_client, "acme")
    by_url = {"url": "https://cdn.example/a.jpg", "media_type": "Image", "mime": "image/jpeg"}
    response = authed_client.post(
        URL, message(by_url, {"media_id": media["media_id"], "media_type": "Image"}), format="json"
    )
    assert response.status_code == 201, response.content
    content = json.loads(inbound.calls[0].request.body)["content"]
    assert content[0]["attachment"] == {
        "mediaType": "Image",
        "url": "https://cdn.example/a.jpg",
        "mime": "image/jpeg",
    }
    assert content[1]["attachment"]["sha256"] == media["sha256"]


def _expired(media_id: str, settings: Any) -> str:
    Media.objects.filter(id=media_id).update(
        created_at=timezone.now() - timedelta(days=settings.MEDIA_RETENTION_DAYS, seconds=1)
    )
    return media_id


@pytest.mark.parametrize("case", ["unknown", "malformed", "expired", "foreign"])
def test_an_unavailable_media_id_is_a_400_and_nothing_reaches_genesys(
    case: str,
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
    tenant_factory: Any,
    settings: Any,
) -> None:
    if case == "unknown":
        media_id = "5b0f3c1e-2d4a-4e8f-9b6c-7a1d0e2f3c4b"
    elif case == "malformed":
        media_id = "not-a-uuid"
    elif case == "expired":
        media_id = _expired(upload(authed_client, "acme")["media_id"], settings)
    else:
        other: Tenant = tenant_factory(slug="globex", name="Globex")
        _, key = tenant_services.api_key_create(tenant=other, name="test")
        other_client = APIClient()
        other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        media_id = upload(other_client, "globex")["media_id"]
    response = authed_client.post(
        URL, message({"media_id": media_id, "media_type": "Image"}), format="json"
    )
    assert response.status_code == 400, response.content
    body = problem(response)
    assert "media_id" in body["errors"]["attachments"]["0"], body
    assert inbound.call_count == 0
    # Nothing was stored either: the same message id with a good attachment goes through.
    good = upload(authed_client, "acme")
    retry = authed_client.post(
        URL, message({"media_id": good["media_id"], "media_type": "Image"}), format="json"
    )
    assert retry.status_code == 201, retry.content


@pytest.mark.parametrize(
    ("attachment", "field"),
    [
        ({"media_type": "Image", "mime": "image/jpeg"}, "mime"),  # not the upload's type
        ({"media_type": "Video"}, "mime"),  # a PNG is no video
    ],
)
def test_an_attachment_contradicting_its_upload_is_a_400(
    attachment: dict[str, Any],
    field: str,
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
) -> None:
    media = upload(authed_client, "acme")
    response = authed_client.post(
        URL, message({"media_id": media["media_id"], **attachment}), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in problem(response)["errors"]["attachments"]["0"]
    assert inbound.call_count == 0


@pytest.mark.parametrize(
    "attachment",
    [
        {"media_type": "Image"},  # neither
        {
            "media_type": "Image",
            "url": "https://cdn.example/a.png",
            "media_id": "5b0f3c1e-2d4a-4e8f-9b6c-7a1d0e2f3c4b",
        },  # both
        {"media_type": "Image", "url": "https://cdn.example/a.png"},  # url without mime
    ],
)
def test_exactly_one_of_url_and_media_id_and_mime_with_url(
    attachment: dict[str, Any],
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
) -> None:
    response = authed_client.post(URL, message(attachment), format="json")
    assert response.status_code == 400, response.content
    assert problem(response)["errors"]["attachments"]
    assert inbound.call_count == 0
