"""Message attachments: a `media_id` (an upload to POST media) becomes what Genesys fetches.

Genesys downloads `content[].attachment.url` itself, without credentials, so an uploaded
file is sent as a signed, expiring gateway URL (docs/media.md) with its sha256, type and
name. Resolved while the request is validated, before anything is stored or sent: an
unknown, expired or foreign id is a 400 problem and nothing reaches Genesys.
"""

from typing import Any

from media.errors import MediaUnavailableError
from media.services import media_resolve, media_url_sign
from outbound.errors import AttachmentInvalid
from tenants.models import Tenant

# Media types whose MIME family is obvious; `File` may carry any type (PDF, image scan...).
MIME_FAMILY = {"Image": "image/", "Video": "video/", "Audio": "audio/"}


def attachment_mime_problem(*, media_type: str, mime: str) -> str:
    """Why a file of type `mime` cannot be sent as `media_type`, or "" when it can."""
    family = MIME_FAMILY.get(media_type)
    if family and not mime.startswith(family):
        return f"{media_type} needs a {family}* MIME type."
    return ""


def attachments_resolve(
    *, tenant: Tenant, attachments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each attachment as message_body takes it: {media_type, url, mime, filename?, sha256?}.

    `url` attachments pass through unchanged; `media_id` ones get the signed URL and the
    stored file's sha256, mime and (unless given) filename.
    """
    resolved = []
    for index, attachment in enumerate(attachments):
        if "media_id" not in attachment:
            resolved.append(dict(attachment))
            continue
        try:
            resolved.append(_media_attachment(tenant=tenant, attachment=attachment))
        except MediaUnavailableError as exc:
            exc.errors = {"attachments": {str(index): {"media_id": [exc.detail]}}}
            raise
        except AttachmentInvalid as exc:
            exc.errors = {"attachments": {str(index): exc.errors}}
            raise
    return resolved


def _media_attachment(*, tenant: Tenant, attachment: dict[str, Any]) -> dict[str, Any]:
    media = media_resolve(tenant=tenant, media_id=attachment["media_id"])
    mime = attachment.get("mime")
    problem = attachment_mime_problem(media_type=attachment["media_type"], mime=media.mime)
    if mime and mime != media.mime:
        problem = f"The upload is {media.mime}; leave mime out or give that."
    if problem:
        raise AttachmentInvalid(
            "An attachment does not match its uploaded file.", errors={"mime": [problem]}
        )
    result = {
        "media_type": attachment["media_type"],
        "url": media_url_sign(media=media).url,
        "mime": media.mime,
        "sha256": media.sha256,
    }
    filename = attachment.get("filename") or media.filename
    if filename:
        result["filename"] = filename
    return result
