"""Files: the ones the emulator serves (agent attachments) and the ones it fetches.

Genesys hosts an agent's attachment itself and puts a download link in the outbound
webhook; here those files live in memory and are served, without a token, under
/emulator/files/<name>. One sample photo is always there (`photo.png`), more can be
uploaded (POST /emulator/files).

For a customer's attachment Genesys downloads `content[].attachment.url` itself, without
credentials, after it has answered the inbound call. The emulator does the same on a
background thread and records the outcome on the message: size, type, sha256 and whether
it matched the `sha256` the sender gave. What Genesys does with a mismatch is not
documented; the emulator keeps the message and records the failure (`sha256_ok` false).
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from emulator.clock import now_iso
from emulator.errors import ApiError
from emulator.filestore import file_record
from emulator.http import Request, Response, Route, route

if TYPE_CHECKING:  # State holds the files; it imports this module
    from emulator.state import State

FILES_PATH = "/emulator/files"
# As much as the gateway may store; a bigger download is cut off and recorded as failed.
FETCH_MAX_BYTES = 25 * 1024 * 1024
FETCH_TIMEOUT_S = 10.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
}


def file_put(state: State, record: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        state.files[record["name"]] = record
    return file_view(state, record)


def file_view(state: State, record: dict[str, Any]) -> dict[str, Any]:
    """A file without its bytes, with the URL it is served at."""
    view = {key: value for key, value in record.items() if key != "data"}
    view["url"] = f"{state.public_url}{FILES_PATH}/{record['name']}"
    return view


def file_url(state: State, name: str) -> str:
    """The served URL of a stored file; 404 for an unknown name."""
    with state.lock:
        if name not in state.files:
            raise ApiError(404, f"No file {name!r} on the emulator.", code="not.found")
        return f"{state.public_url}{FILES_PATH}/{name}"


# ----- fetching customers' attachments --------------------------------------------------


def _download(url: str) -> tuple[bytes, str, int]:
    """(bytes, Content-Type, HTTP status); raises ValueError with the reason on failure."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("not an http(s) URL")
    try:
        with requests.get(url, stream=True, timeout=FETCH_TIMEOUT_S) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            data = bytearray()
            for part in response.iter_content(64 * 1024):
                data += part
                if len(data) > FETCH_MAX_BYTES:
                    raise ValueError(f"larger than {FETCH_MAX_BYTES} bytes")
            content_type = response.headers.get("Content-Type", "")
            return bytes(data), content_type.split(";")[0].strip(), response.status_code
    except requests.RequestException as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def attachment_fetch(state: State, attachment: dict[str, Any]) -> dict[str, Any]:
    """Download one attachment as Genesys would; the outcome (also stored on failure)."""
    outcome: dict[str, Any] = {
        "url": attachment.get("url"),
        "filename": attachment.get("filename"),
        "mime": attachment.get("mime"),
        "sha256_expected": attachment.get("sha256"),
        "fetched_at": now_iso(),
    }
    try:
        data, content_type, _ = _download(str(attachment.get("url") or ""))
    except ValueError as exc:
        return {**outcome, "status": "failed", "error": str(exc)}
    digest = hashlib.sha256(data).hexdigest()
    expected = attachment.get("sha256")
    mime = attachment.get("mime") or content_type or "application/octet-stream"
    stored = file_record(
        name=f"fetched-{uuid.uuid4().hex[:12]}{_EXTENSIONS.get(mime, '')}",
        data=data,
        mime=mime,
        origin="fetched",
    )
    copy = file_put(state, stored)
    result = {
        **outcome,
        "status": "fetched",
        "content_type": content_type,
        "size": len(data),
        "sha256": digest,
        "sha256_ok": None if not expected else digest == str(expected).lower(),
        "copy_url": copy["url"],
    }
    if result["sha256_ok"] is False:
        result["error"] = "sha256 mismatch: the bytes are not the file the sender described"
    return result


def attachments_fetch_later(state: State, message: dict[str, Any]) -> None:
    """Fetch every attachment of an inbound message on a thread, recording into
    message["files"]; the inbound call's answer does not wait for it."""
    attachments = [
        item.get("attachment")
        for item in message["normalized"].get("content") or []
        if isinstance(item.get("attachment"), dict)
    ]
    if not attachments:
        return
    message["files"] = [
        {"url": a.get("url"), "filename": a.get("filename"), "status": "pending"}
        for a in attachments
    ]

    def run() -> None:
        for index, attachment in enumerate(attachments):
            outcome = attachment_fetch(state, attachment)
            with state.lock:
                message["files"][index] = outcome

    threading.Thread(target=run, name="emulator-fetch", daemon=True).start()


# ----- control endpoints ------------------------------------------------------------------


class Files:
    def __init__(self, state: State) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            route("GET", FILES_PATH, self.index, authenticated=False),
            route("POST", FILES_PATH, self.upload, authenticated=False),
            route("GET", f"{FILES_PATH}/{{name}}", self.download, authenticated=False),
        ]

    def index(self, request: Request) -> Response:
        with self.state.lock:
            views = [file_view(self.state, f) for f in self.state.files.values()]
        return Response(200, {"entities": views, "total": len(views)})

    def upload(self, request: Request) -> Response:
        """A file for agent messages: the raw body, its Content-Type and an X-Filename."""
        name = (request.headers.get("x-filename") or "").strip() or f"{uuid.uuid4().hex}.bin"
        if not _NAME.match(name):
            raise ApiError(400, "X-Filename must be letters, digits, '.', '_' or '-'.")
        if not request.body:
            raise ApiError(400, "The body is empty.")
        mime = (request.headers.get("content-type") or "").split(";")[0].strip()
        record = file_record(
            name=name, data=request.body, mime=mime or "application/octet-stream", origin="upload"
        )
        return Response(201, file_put(self.state, record))

    def download(self, request: Request) -> Response:
        with self.state.lock:
            record = self.state.files.get(request.params["name"])
        if record is None:
            raise ApiError(404, "No such file.", code="not.found")
        return Response(
            200,
            record["data"],
            headers={"Content-Disposition": f'inline; filename="{record["name"]}"'},
            content_type=record["mime"],
        )
