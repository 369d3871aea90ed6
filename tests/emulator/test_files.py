"""Files: the emulator fetches customers' attachments as Genesys does (no credentials,
sha256 checked) and serves its own files for agent attachments."""

import hashlib
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
import requests

from emulator.__main__ import main
from tests.emulator.conftest import INTEGRATION_ID, Genesys, Receiver, example, send_text

INBOUND = f"/api/v2/conversations/messages/{INTEGRATION_ID}/inbound/open/message"
OUTBOUND_WEBHOOK = "/webhooks/genesys/open-messaging"
PDF = b"%PDF-1.7\n" + os.urandom(5000)


def upload(genesys: Genesys, data: bytes, name: str, mime: str) -> dict[str, Any]:
    response = requests.post(
        f"{genesys.url}/emulator/files",
        data=data,
        headers={"Content-Type": mime, "X-Filename": name},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def send_attachment(genesys: Genesys, **attachment: Any) -> str:
    body = example("inbound-image.json")
    body["channel"]["messageId"] = f"wamid.{time.monotonic_ns()}"
    body["content"] = [{"attachment": attachment}]
    response = genesys.call("POST", INBOUND, params={"prefetchConversationId": "true"}, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["conversationId"])


def fetched_files(genesys: Genesys, conversation_id: str) -> list[dict[str, Any]]:
    """The last message's file outcomes, once none is pending."""
    deadline = time.monotonic() + 10
    while True:
        view = genesys.inspect(f"conversations/{conversation_id}")
        files: list[dict[str, Any]] = view["messages"][-1]["files"]
        if files and all(f["status"] != "pending" for f in files):
            return files
        assert time.monotonic() < deadline, f"still pending: {files}"
        time.sleep(0.02)


def test_the_sample_photo_is_a_real_png_served_without_a_token(genesys: Genesys) -> None:
    response = requests.get(f"{genesys.url}/emulator/files/photo.png", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    data = response.content
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # IHDR says 48x32 RGB; the IDAT inflates to exactly that many rows.
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    idat_length = int.from_bytes(data[33:37], "big")
    assert data[37:41] == b"IDAT"
    pixels = zlib.decompress(data[41 : 41 + idat_length])
    assert len(pixels) == height * (1 + 3 * width)
    listed = requests.get(f"{genesys.url}/emulator/files", timeout=10).json()["entities"]
    assert listed[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_uploaded_file_is_served_back_and_unknown_names_are_404(genesys: Genesys) -> None:
    stored = upload(genesys, PDF, "label.pdf", "application/pdf")
    assert stored["url"] == f"{genesys.url}/emulator/files/label.pdf"
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()
    served = requests.get(stored["url"], timeout=10)
    assert (served.content, served.headers["Content-Type"]) == (PDF, "application/pdf")
    assert requests.get(f"{genesys.url}/emulator/files/nope.png", timeout=10).status_code == 404
    bad = requests.post(
        f"{genesys.url}/emulator/files", data=b"x", headers={"X-Filename": "../x"}, timeout=10
    )
    assert bad.status_code == 400


def test_a_customer_attachment_is_fetched_and_its_sha256_checked(genesys: Genesys) -> None:
    stored = upload(genesys, PDF, "invoice.pdf", "application/pdf")
    conversation_id = send_attachment(
        genesys,
        mediaType="File",
        url=stored["url"],
        mime="application/pdf",
        filename="invoice.pdf",
        sha256=stored["sha256"],
    )
    [outcome] = fetched_files(genesys, conversation_id)
    assert outcome["status"] == "fetched"
    assert outcome["size"] == len(PDF)
    assert outcome["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert outcome["sha256_ok"] is True
    assert (outcome["filename"], outcome["mime"]) == ("invoice.pdf", "application/pdf")
    # The emulator kept its copy: the very bytes it downloaded.
    assert requests.get(outcome["copy_url"], timeout=10).content == PDF


def test_a_sha256_mismatch_is_recorded_visibly(genesys: Genesys) -> None:
    stored = upload(genesys, PDF, "invoice.pdf", "application/pdf")
    conversation_id = send_attachment(
        genesys, mediaType="File", url=stored["url"], mime="application/pdf", sha256="0" * 64
    )
    [outcome] = fetched_files(genesys, conversation_id)
    assert outcome["status"] == "fetched"
    assert outcome["sha256_ok"] is False
    assert "sha256 mismatch" in outcome["error"]


def test_an_unreachable_attachment_is_recorded_as_failed(genesys: Genesys) -> None:
    conversation_id = send_attachment(
        genesys, mediaType="Image", url=f"{genesys.url}/emulator/files/gone.png", mime="image/png"
    )
    [outcome] = fetched_files(genesys, conversation_id)
    assert outcome["status"] == "failed"
    assert outcome["error"] == "HTTP 404"


def test_a_text_message_has_no_files(genesys: Genesys) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]
    view = genesys.inspect(f"conversations/{conversation_id}")
    assert view["messages"][0]["files"] == []
    assert view["messages"][0]["text"] == "hello"


@pytest.mark.parametrize("how", ["sample", "local file"])
def test_the_agent_sends_an_image_the_emulator_serves(
    how: str,
    genesys: Genesys,
    receiver: Receiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    send_text(genesys, "can you show me?")
    if how == "sample":
        image, expected = (
            "photo.png",
            requests.get(f"{genesys.url}/emulator/files/photo.png").content,
        )
    else:
        expected = b"\xff\xd8\xff\xe0\x00\x10JFIF" + os.urandom(2000)
        path = tmp_path / "shelf.jpg"
        path.write_bytes(expected)
        image = str(path)
    code = main(
        ["agent", "reply", "latest", "here it is", "--image", image, "--emulator-url", genesys.url]
    )
    assert code == 0, capsys.readouterr()
    payload = json.loads(capsys.readouterr().out)["payload"]
    [webhook] = receiver.wait_for(OUTBOUND_WEBHOOK, 1)
    assert webhook["json"] == payload
    attachment = payload["content"][0]["attachment"]
    assert payload["text"] == "here it is"
    assert attachment["mediaType"] == "Image"
    assert attachment["mime"] == ("image/png" if how == "sample" else "image/jpeg")
    assert attachment["url"].startswith(f"{genesys.url}/emulator/files/")
    # Fetchable without credentials, as the gateway will fetch it.
    assert requests.get(attachment["url"], timeout=10).content == expected


def test_image_and_image_url_together_are_refused(genesys: Genesys) -> None:
    send_text(genesys, "hi")
    response = requests.post(
        f"{genesys.url}/emulator/conversations/latest/reply",
        json={"image": "photo.png", "image_url": "http://x.example/a.png"},
        timeout=10,
    )
    assert response.status_code == 400
    unknown = requests.post(
        f"{genesys.url}/emulator/conversations/latest/reply",
        json={"image": "nope.png"},
        timeout=10,
    )
    assert unknown.status_code == 404
