"""The `content` list of an agent message: what the WhatsApp side gets normalised."""

from typing import Any

import structlog

from webhooks.payloads.parsing import as_dict, as_int, as_list, as_str

logger = structlog.get_logger(__name__)


def message_content_normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """Text, attachments and structured content of a message; unknown content is skipped."""
    attachments: list[dict[str, Any]] = []
    quick_replies: list[dict[str, Any]] = []
    quick_replies_title: str | None = None
    rich_content: list[dict[str, Any]] = []
    for item in as_list(payload.get("content")):
        content_type = as_str(as_dict(item).get("contentType"))
        if content_type == "Attachment" and isinstance(item.get("attachment"), dict):
            attachments.append(attachment_normalise(item["attachment"]))
        elif content_type == "QuickReply" and isinstance(item.get("quickReply"), dict):
            quick_replies.append(quick_reply_normalise(item["quickReply"]))
        elif content_type == "QuickReplyV2" and isinstance(item.get("quickReplyV2"), dict):
            group = item["quickReplyV2"]
            quick_replies_title = as_str(group.get("title")) or quick_replies_title
            quick_replies.extend(
                quick_reply_normalise(action)
                for action in as_list(group.get("actions"))
                if isinstance(action, dict)
            )
        elif content_type in ("Card", "Carousel") and isinstance(
            item.get(content_type.lower()), dict
        ):
            # Passed through as Genesys sent them; the WhatsApp side maps them to
            # interactive messages it supports.
            rich_content.append(item)
        else:
            logger.info("webhook.content_skipped", content_type=content_type or None)
    return {
        "text": as_str(payload.get("text")),
        "attachments": attachments,
        "quick_replies": quick_replies,
        "quick_replies_title": quick_replies_title,
        "rich_content": rich_content,
    }


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
