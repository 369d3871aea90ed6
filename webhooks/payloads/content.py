"""The `content` list of an agent message, kept whole and normalised for WhatsApp.

`content` is passed on exactly as Genesys sent it, whatever its `contentType`, so a kind
added later still reaches the WhatsApp side. Next to it, the kinds WhatsApp has are
normalised: attachments, quick replies, a template, a location, a list picker, and cards
and carousels (`rich_content`). docs/events.md gives the WhatsApp mapping of each kind.
"""

import math
from typing import Any

from webhooks.payloads.parsing import as_dict, as_int, as_list, as_str


def message_content_normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """Text, the content list as sent, and the normalised fields of the kinds we know."""
    content = as_list(payload.get("content"))
    items = [item for item in content if isinstance(item, dict)]
    quick_replies, quick_replies_title = _quick_replies(items)
    template = _first(items, "Notification", "template")
    location = _first(items, "Location", "location")
    return {
        "text": as_str(payload.get("text")),
        "content": content,
        "attachments": [
            attachment_normalise(body) for body in _bodies(items, "Attachment", "attachment")
        ],
        "quick_replies": quick_replies,
        "quick_replies_title": quick_replies_title,
        "rich_content": [
            item
            for item in items
            if item.get("contentType") in ("Card", "Carousel")
            and isinstance(item.get(str(item["contentType"]).lower()), dict)
        ],
        "template": template_normalise(template) if template is not None else None,
        "location": location_normalise(location) if location is not None else None,
        "list_picker": _first(items, "ListPicker", "listPicker"),
    }


def _bodies(items: list[dict[str, Any]], content_type: str, key: str) -> list[dict[str, Any]]:
    """The objects under `key` of the items of one content type, in order."""
    return [
        item[key]
        for item in items
        if item.get("contentType") == content_type and isinstance(item.get(key), dict)
    ]


def _first(items: list[dict[str, Any]], content_type: str, key: str) -> dict[str, Any] | None:
    # WhatsApp sends one template, location or list per message; further ones stay
    # in `content`.
    found = _bodies(items, content_type, key)
    return found[0] if found else None


def _quick_replies(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """`QuickReply` items and `QuickReplyV2` groups as one list, with the last group title."""
    replies: list[dict[str, Any]] = []
    title: str | None = None
    for item in items:
        content_type = item.get("contentType")
        if content_type == "QuickReply" and isinstance(item.get("quickReply"), dict):
            replies.append(quick_reply_normalise(item["quickReply"]))
        elif content_type == "QuickReplyV2" and isinstance(item.get("quickReplyV2"), dict):
            group = item["quickReplyV2"]
            title = as_str(group.get("title")) or title
            replies.extend(
                quick_reply_normalise(action)
                for action in as_list(group.get("actions"))
                if isinstance(action, dict)
            )
    return replies, title


def attachment_normalise(attachment: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": as_str(attachment.get("id")) or None,
        "media_type": as_str(attachment.get("mediaType")) or None,
        "url": as_str(attachment.get("url")) or None,
        "mime": as_str(attachment.get("mime")) or None,
        "filename": as_str(attachment.get("filename")) or None,
        "text": as_str(attachment.get("text")) or None,
        "content_size_bytes": as_int(attachment.get("contentSizeBytes")),
    }


def quick_reply_normalise(reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": as_str(reply.get("text")),
        "payload": as_str(reply.get("payload")),
        "action": as_str(reply.get("action")) or "Message",
    }


def template_normalise(template: dict[str, Any]) -> dict[str, Any]:
    """`{id, language, parameters}` of a Notification item's `template`.

    The parameters of the header come first, then those of the body, each `{name, text}`:
    WhatsApp fills a template's placeholders in that order.
    """
    parameters = [
        {"name": as_str(parameter.get("name")) or None, "text": as_str(parameter.get("text"))}
        for part in ("header", "body")
        for parameter in as_list(as_dict(template.get(part)).get("parameters"))
        if isinstance(parameter, dict)
    ]
    return {
        "id": as_str(template.get("id")) or None,
        "language": as_str(template.get("language")) or None,
        "parameters": parameters,
    }


def location_normalise(location: dict[str, Any]) -> dict[str, Any]:
    """`{latitude, longitude, address?, text?, url?}`: the optional keys only when given."""
    normalised: dict[str, Any] = {
        "latitude": _number(location.get("latitude")),
        "longitude": _number(location.get("longitude")),
    }
    for key in ("address", "text", "url"):
        if as_str(location.get(key)):
            normalised[key] = location[key]
    return normalised


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None
