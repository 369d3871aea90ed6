"""A photo both ways over real HTTP: the platform uploads it, sends a message naming it,
and the emulator (as Genesys) downloads it from the gateway's signed URL with no
credentials; a foreign or unknown media id stops the message before Genesys. Back: the
agent's photo (served by the emulator) is copied by the relay, and the CloudEvent's
attachment carries a gateway_url that serves the same bytes."""

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_django.live_server_helper import LiveServer

from tests.e2e.conftest import INTEGRATION_ID, EmulatorClient, Events, Gateway

CUSTOMER = "+15550123456"
INBOUND_MESSAGE = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/message"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(200_000)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media_settings(settings: Any, tmp_path: Path, live_server: LiveServer) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # The links Genesys gets must reach this very server.
    settings.MEDIA_PUBLIC_BASE_URL = live_server.url


def upload(gateway: Gateway, data: bytes, mime: str, filename: str) -> dict[str, Any]:
    response = gateway.call(
        "POST", "media", data=data, headers={"Content-Type": mime, "X-Filename": filename}
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def fetched(emulator_client: EmulatorClient, conversation_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        view = emulator_client.inspect(f"conversations/{conversation_id}")
        files: list[dict[str, Any]] = view["messages"][-1]["files"]
        if files and all(f["status"] != "pending" for f in files):
            return files
        assert time.monotonic() < deadline, f"the emulator did not fetch: {files}"
        time.sleep(0.05)


def test_an_uploaded_photo_reaches_genesys_which_fetches_the_exact_bytes(
    gateway: Gateway, emulator_client: EmulatorClient
) -> None:
    media = upload(gateway, JPEG, "image/jpeg", "shelf.jpg")
    assert media["sha256"] == hashlib.sha256(JPEG).hexdigest()
    sent = gateway.call(
        "POST",
        "messages",
        json={
            "message_id": "wamid.photo-1",
            "from": {"id": CUSTOMER},
            "text": "this one is broken",
            "attachments": [{"media_id": media["media_id"], "media_type": "Image"}],
        },
    )
    assert sent.status_code == 201, sent.text
    conversation_id = sent.json()["conversation_id"]

    [request] = emulator_client.requests(INBOUND_MESSAGE)
    assert request["valid"] is True, request["issues"]
    attachment = request["body"]["content"][0]["attachment"]
    assert attachment["sha256"] == media["sha256"]
    assert (attachment["mime"], attachment["filename"]) == ("image/jpeg", "shelf.jpg")

    [outcome] = fetched(emulator_client, conversation_id)
    assert outcome["status"] == "fetched", outcome
    assert outcome["sha256_ok"] is True
    assert outcome["size"] == len(JPEG)
    assert outcome["content_type"] == "image/jpeg"
    assert requests.get(outcome["copy_url"], timeout=10).content == JPEG


def test_an_unknown_media_id_never_reaches_genesys(
    gateway: Gateway, emulator_client: EmulatorClient
) -> None:
    sent = gateway.call(
        "POST",
        "messages",
        json={
            "message_id": "wamid.photo-2",
            "from": {"id": CUSTOMER},
            "attachments": [
                {"media_id": "5b0f3c1e-2d4a-4e8f-9b6c-7a1d0e2f3c4b", "media_type": "Image"}
            ],
        },
    )
    assert sent.status_code == 400, sent.text
    assert sent.json()["type"].endswith("/media-unavailable")
    assert emulator_client.requests(INBOUND_MESSAGE) == []


def test_an_agent_photo_arrives_with_a_gateway_url_to_a_copy(
    gateway: Gateway,
    emulator_client: EmulatorClient,
    events: Events,
    relay: threading.Thread,
) -> None:
    sent = gateway.call(
        "POST",
        "messages",
        json={"message_id": "wamid.photo-3", "from": {"id": CUSTOMER}, "text": "a photo?"},
    )
    assert sent.status_code == 201, sent.text
    conversation_id = sent.json()["conversation_id"]
    reply = emulator_client.control(
        f"conversations/{conversation_id}/reply", {"text": "here", "image": "photo.png"}
    )
    genesys_url = reply["payload"]["content"][0]["attachment"]["url"]
    photo = requests.get(genesys_url, timeout=10).content

    _, event = events.next(timeout=20)
    assert event["type"] == "message.outbound"
    [attachment] = event["data"]["attachments"]
    assert attachment["url"] == genesys_url
    assert attachment["gateway_url"].startswith(gateway.url + "/media/")
    copy = requests.get(attachment["gateway_url"], timeout=10)
    assert copy.status_code == 200
    assert copy.content == photo
    assert copy.headers["Content-Type"] == "image/png"
