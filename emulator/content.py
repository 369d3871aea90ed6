"""Content items of agent messages, shaped as the SDK's ConversationMessageContent.

Each builder returns one item of an Open Messaging outbound webhook's `content` list:
quick replies, a WhatsApp template (`Notification`), a list picker, a date picker, a location,
an attachment. Inputs come from the control API, so builders raise ApiError on what cannot
make a message; the finished payload is also checked against the SDK model before it is sent.
"""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any
from urllib.parse import urlparse

from emulator.errors import ApiError


def payload_id(label: str) -> str:
    """'Track order' -> 'TRACK_ORDER': the payload a button or list item sends back."""
    return label.strip().upper().replace(" ", "_")


def quick_replies(labels: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "contentType": "QuickReply",
            "quickReply": {"text": label, "payload": payload_id(label), "action": "Message"},
        }
        for label in labels
    ]


def attachment(url: str) -> dict[str, Any]:
    filename = urlparse(url).path.rsplit("/", 1)[-1] or "attachment"
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    media_type = {"image": "Image", "video": "Video", "audio": "Audio"}.get(
        mime.split("/", 1)[0], "File"
    )
    return {
        "contentType": "Attachment",
        "attachment": {
            "id": str(uuid.uuid4()),
            "mediaType": media_type,
            "url": url,
            "mime": mime,
            "filename": filename,
        },
    }


def _parameters(values: dict[str, str] | None, field: str) -> list[dict[str, str]]:
    if values is None:
        return []
    if not isinstance(values, dict):
        raise ApiError(400, f"{field} must be an object of name -> text.")
    return [{"name": str(name), "text": str(text)} for name, text in values.items()]


def template(
    *,
    template_id: str,
    language: str,
    body_text: str | None = None,
    parameters: dict[str, str] | None = None,
    header_text: str | None = None,
    header_parameters: dict[str, str] | None = None,
    footer_text: str | None = None,
) -> dict[str, Any]:
    """A WhatsApp template as Genesys sends it: contentType Notification with a template."""
    if not template_id or not language:
        raise ApiError(400, "A template needs template_id and language.")
    body: dict[str, Any] = {"parameters": _parameters(parameters, "parameters")}
    if body_text:
        body["text"] = body_text
    content: dict[str, Any] = {"id": template_id, "language": language, "body": body}
    if header_text or header_parameters:
        header: dict[str, Any] = {
            "type": "Text",
            "parameters": _parameters(header_parameters, "header_parameters"),
        }
        if header_text:
            header["text"] = header_text
        content["header"] = header
    if footer_text:
        content["footer"] = {"text": footer_text}
    return {"contentType": "Notification", "template": content}


def _list_item(item: Any) -> dict[str, Any]:
    """'Title', 'ID=Title' or {id?, title, subtitle?, image_url?} -> a list picker item."""
    if isinstance(item, str):
        item_id, _, title = item.partition("=") if "=" in item else ("", "", item)
        item = {"id": item_id, "title": title}
    if not isinstance(item, dict) or not item.get("title"):
        raise ApiError(400, "Each list item needs a title.")
    result = {"id": str(item.get("id") or payload_id(str(item["title"]))), "title": item["title"]}
    if item.get("subtitle"):
        result["subtitle"] = item["subtitle"]
    if item.get("image_url"):
        result["imageUrl"] = item["image_url"]
    return result


def list_picker(
    *,
    title: str,
    items: list[Any],
    subtitle: str | None = None,
    button_label: str | None = None,
    section: str | None = None,
) -> dict[str, Any]:
    """One section of choices; receivedMessage is what the customer sees before choosing."""
    if not title or not items or not isinstance(items, list):
        raise ApiError(400, "A list picker needs a title and at least one item.")
    received = {"title": title, "subtitle": subtitle, "buttonLabel": button_label}
    return {
        "contentType": "ListPicker",
        "listPicker": {
            "id": str(uuid.uuid4()),
            "sections": [
                {
                    "title": section or title,
                    "multipleSelection": False,
                    "items": [_list_item(item) for item in items],
                }
            ],
            "receivedMessage": {k: v for k, v in received.items() if v},
        },
    }


def date_picker(
    *,
    title: str,
    slots: list[str],
    duration_s: int = 1800,
    subtitle: str | None = None,
) -> dict[str, Any]:
    """Bookable times (ISO-8601 date-times); the range spans the first to the last slot."""
    if not title or not slots or not isinstance(slots, list):
        raise ApiError(400, "A date picker needs a title and at least one slot.")
    ordered = sorted(str(slot) for slot in slots)
    picker: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "title": title,
        "dateMinimum": ordered[0],
        "dateMaximum": ordered[-1],
        "availableTimes": [{"dateTime": slot, "duration": duration_s} for slot in ordered],
    }
    if subtitle:
        picker["subtitle"] = subtitle
    return {"contentType": "DatePicker", "datePicker": picker}


def location(
    *,
    latitude: Any,
    longitude: Any,
    address: str | None = None,
    text: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise ApiError(400, "A location needs numeric latitude and longitude.") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ApiError(400, "latitude must be within -90..90 and longitude within -180..180.")
    place: dict[str, Any] = {"latitude": lat, "longitude": lon}
    place |= {k: v for k, v in (("address", address), ("text", text), ("url", url)) if v}
    return {"contentType": "Location", "location": place}
